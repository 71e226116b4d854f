"""The fit releases the GIL, and numpy users need no pandas."""

import subprocess
import sys
import threading
import time

import numpy as np

import synthgmm


def test_fit_releases_the_gil():
    rng = np.random.default_rng(3)
    t = 400_000
    x = rng.normal(size=(t, 4))
    y = x.sum(axis=1) + rng.normal(size=t)
    labeled = rng.uniform(size=t) < 0.1
    proxy = y + rng.normal(size=t)
    args = dict(y=y, x=x, labeled=labeled, sources={"proxy": proxy, "other": proxy + rng.normal(size=t)})
    synthgmm.fit(**args)  # warm up
    start = time.perf_counter()
    synthgmm.fit(**args)
    alone = time.perf_counter() - start
    done = threading.Event()
    worker = threading.Thread(target=lambda: (synthgmm.fit(**args), synthgmm.fit(**args),
                                              done.set()))
    ticks = 0
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    # With the GIL held for the whole fit the loop could not run while the worker fits.
    assert ticks > 0.25 * (2 * alone) / 0.001 * 0.1, (ticks, alone)


def test_numpy_users_need_no_pandas():
    code = """
import sys
sys.modules['pandas'] = None  # import pandas now fails
import numpy as np, synthgmm
rng = np.random.default_rng(0)
t = 500
x = rng.normal(size=t)
y = 1 + x + rng.normal(size=t)
lab = np.arange(t) < 80
res = synthgmm.fit(y=y, x=x, labeled=lab, sources={"p": y + rng.normal(size=t)})
assert isinstance(res.params, np.ndarray) and res.conf_int().shape == (2, 2)
table = synthgmm.compare(y=y, x=x, labeled=lab, sources={"p": y + rng.normal(size=t)})
assert isinstance(table, dict) and table["not_run"] == {}
try:
    res.to_frame()
except ImportError as err:
    assert "pandas" in str(err)
else:
    raise AssertionError("to_frame without pandas")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
