# Passed to llama-cpp-python's build as -DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file> (see the Makefile):
# CMake runs it right after llama.cpp's project() call, before llama.cpp declares its options.
#
# llama-cpp-python forces LLAMA_BUILD_COMMON on, and llama.cpp's "common" library (chat templates,
# argument parsing, HTTP, JSON grammars: over half the CPU build) is then built and installed
# beside the package, yet the Python bindings never load it. A normal variable set here wins over
# that cache entry inside llama.cpp's directory (policy CMP0077), so it is not built at all.
set(LLAMA_BUILD_COMMON OFF)
