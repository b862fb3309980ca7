"""The LLM action prior p_LLM(a|s) on llama.cpp, plus the uniform baseline and the exact cache."""
