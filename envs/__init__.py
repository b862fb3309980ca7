"""Text environments as gymnasium envs: observation = game text, action = command string."""
