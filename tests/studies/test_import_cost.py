"""``import regnet_plugin`` (what every toolbox config's custom_imports does) stays
cheap and leaves the user's matplotlib alone."""
import os
import subprocess
import sys


def _run(code: str, **env: str) -> str:
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120, check=True)
    return result.stdout.strip()


def test_importing_the_plugin_loads_neither_matplotlib_nor_scipy():
    out = _run("import sys, regnet_plugin; "
               "print('matplotlib' in sys.modules, 'scipy.stats' in sys.modules)")
    assert out.splitlines()[-1] == 'False False'


def test_plotting_keeps_the_users_backend_and_leaves_pyplot_alone(tmp_path):
    code = f"""
import sys
import numpy as np
import regnet_plugin
from regnet_plugin.analysis import plots
import regnet_plugin.compare.plots
import matplotlib
fig = plots.plot_edfs({{'a': (np.arange(5.0), None)}})
plots.save_png(fig, {str(tmp_path / 'edf.png')!r})
image = plots.figure_rgb(fig)
plots.close_figure(fig)
print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules, image.shape, image.dtype)
from matplotlib import pyplot     # a user's own pyplot figure, closed there too
plots.close_figure(pyplot.figure())
print(pyplot.get_fignums())
"""
    lines = _run(code, MPLBACKEND='pdf').splitlines()
    assert lines[-2:] == ['pdf False (400, 550, 3) uint8', '[]']
    assert (tmp_path / 'edf.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
