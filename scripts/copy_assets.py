"""Copy the npm-installed front-end assets into build/static/vendor (served by the app)."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
TARGET = ROOT / "build" / "static" / "vendor"

FILES = {
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    # The minified files name their source maps; the manifest storage of production insists
    # that every referenced file exists.
    "bootstrap/dist/css/bootstrap.min.css.map": "bootstrap/bootstrap.min.css.map",
    "bootstrap/dist/js/bootstrap.bundle.min.js": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap/dist/js/bootstrap.bundle.min.js.map": "bootstrap/bootstrap.bundle.min.js.map",
    "htmx.org/dist/htmx.min.js": "htmx/htmx.min.js",
    "echarts/dist/echarts.min.js": "echarts/echarts.min.js",
}

for source, target in FILES.items():
    dest = TARGET / target
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MODULES / source, dest)
print(f"assets: {len(FILES)} files in {TARGET.relative_to(ROOT)}")
