"""The post-processing's independent pieces (the two kinds of blur of a whole image's
kernel refinement, the agreement test's tiles, the colour channels of denoising and of
the noise estimate) run at once on the CPUs this process may use. The streamed plan's
crop takes the kinds of blur in turn (`kernel_refinement.kernel_plan`): at once they
would double its working memory, which that plan bounds.

OpenCV's transforms, NumPy and PyWavelets release Python's lock while they compute,
and each of these steps otherwise runs on one core, so threads cut the wait (not
the CPU time) by up to the number of CPUs. Every piece computes what it computes
alone, so the results are the same as in turn, bit for bit.
"""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

from srn_tf.processor import usable_cpus


@functools.lru_cache(maxsize=None)
def _pool(process, workers):
    """Process `process`'s pool of `workers` threads, made on first use. Keyed by the
    process id: a child forked after its parent used a pool has none of the pool's
    threads, and work handed to the inherited pool waits forever (the pool counts the
    parent's idle threads and starts none)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="srn-postprocess")


def map_in_threads(function, items):
    """[function(item) for item in items], the calls spread over `usable_cpus()`
    threads (in turn where there is one CPU or one item).

    Only the steps named in the module docstring call it, none from within
    another's call, so a pool thread never waits on the pool.
    """
    items = list(items)
    workers = usable_cpus()
    if len(items) < 2 or workers < 2:
        return [function(item) for item in items]
    return list(_pool(os.getpid(), workers).map(function, items))
