"""Settings that every test, and every notebook kernel nbval starts, inherits.

Kernels are started after this file is imported, so the environment set here reaches them:
progress bars stay quiet (their timings would differ run to run) and hashing is fixed. Under pytest-xdist
(``./course test`` runs one worker per core), each worker and its kernels get an equal share of the cores, so
that the workers do not oversubscribe the CPU; an explicit OMP_NUM_THREADS wins.
"""
import os

os.environ["RECURRENT_LIB_PROGRESS"] = "0"
os.environ["PYTHONHASHSEED"] = "0"
if "PYTEST_XDIST_WORKER_COUNT" in os.environ and "OMP_NUM_THREADS" not in os.environ:
    workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ["OMP_NUM_THREADS"] = str(max(1, len(os.sched_getaffinity(0)) // workers))
