"""Register the bench controller in a generated Loco app: `python3 patch.py APP_DIR` (idempotent)."""

import pathlib
import sys

app = pathlib.Path(sys.argv[1])
mod = app / "src" / "controllers" / "mod.rs"
text = mod.read_text()
if "pub mod bench;" not in text:
    mod.write_text(text.rstrip("\n") + "\npub mod bench;\n")
routes = app / "src" / "app.rs"
text = routes.read_text()
if "controllers::bench::routes()" not in text:
    anchor = ".add_route(controllers::home::routes())"
    if anchor not in text:
        sys.exit(f"cannot find {anchor!r} in {routes}")
    text = text.replace(anchor, anchor + "\n            .add_route(controllers::bench::routes())", 1)
    routes.write_text(text)
