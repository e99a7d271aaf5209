"""``python -m verify build-image [--force] [--tag TAG]``: build the sandbox image locally."""

from __future__ import annotations

import argparse
import sys

from verify._image import DEFAULT_TAG, build_image_report
from verify._verdict import SandboxUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verify")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-image", help="build the sandbox image from the host's python")
    b.add_argument("--tag", default=DEFAULT_TAG)
    b.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    if args.cmd == "build-image":
        try:
            res = build_image_report(tag=args.tag, force=args.force)
        except SandboxUnavailable as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except Exception as e:
            print(f"error: could not build {args.tag}: {e}", file=sys.stderr)
            return 1
        what = "built" if res.built else "up to date"
        print(
            f"{res.tag}: {what} in {res.seconds:.1f} s, "
            f"{res.size_bytes / 1e6:.0f} MB, id {res.image_id[:19]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
