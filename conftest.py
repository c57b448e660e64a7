"""Settings that every test, and every notebook kernel nbval starts, inherits.

Kernels are started after this file is imported, so the environment set here reaches them:
progress bars stay quiet (their timings would differ run to run) and hashing is fixed.
"""
import os

os.environ["RECURRENT_LIB_PROGRESS"] = "0"
os.environ["PYTHONHASHSEED"] = "0"
