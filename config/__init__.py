import os

# One BLAS thread per process, set before numpy loads: Paperbox runs as many worker processes as
# cores, and on a loaded machine OpenBLAS's own threads made a reader's taste fit about 60 times
# slower (their spinning competes with the other processes). An operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Load the Celery app whenever Django starts, so @shared_task binds to it.
from config.celery import app as celery_app

__all__ = ("celery_app",)
