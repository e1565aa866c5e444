"""Paired image-restoration pipeline: demo data, prepare, train, infer, export, score."""

import os

# Idle OpenMP threads sleep instead of spinning. Spinning wins a few microseconds per parallel
# region on an idle machine, but when the CPUs are shared (DataLoader workers, other jobs, a
# busy Colab host) the spinning threads steal the cores the working ones need: on 2 busy
# cores, training steps measured 6x slower and tiled inference 20x. Read by libgomp when
# torch loads, so it has to be set before torch is imported; a value already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
