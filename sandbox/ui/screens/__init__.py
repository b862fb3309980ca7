"""Screens pushed over the main one: help, pickers, replay, lessons."""
