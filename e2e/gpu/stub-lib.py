#!/usr/bin/env python3
"""A stand-in for a shared library ffmpeg links but the GPU check never calls into (SDL, X11,
libxml2, flite, ...): same SONAME, every exported symbol under its version, functions that return 0,
zeroed data of the same size. Debian's ffmpeg is linked with BIND_NOW, so every symbol must resolve
at load time even where its code never runs; the stub lets the carry leave ~150 MB of them out.

usage: stub-lib.py LIBRARY OUT_DIR   (writes OUT_DIR/<soname>, built with gcc)
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SYM = re.compile(r"^\s*\d+:\s+[0-9a-f]+\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s+(\S+)")


def soname(lib: str) -> str:
    out = subprocess.run(["readelf", "-d", lib], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else Path(lib).name


def exported(lib: str):
    """(name, version or None, default version?, kind, size) of each defined dynamic symbol."""
    out = subprocess.run(["readelf", "-W", "--dyn-syms", lib], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = SYM.match(line)
        if not m:
            continue
        size, kind, bind, ndx, name = m.groups()
        # ABS entries are the version nodes themselves (GNUTLS_3_4@@GNUTLS_3_4): the version script makes them
        if ndx in ("UND", "ABS") or bind == "LOCAL" or kind in ("SECTION", "FILE"):
            continue
        name = re.sub(r"\s*\(\d+\)$", "", name)
        version, default = None, True
        if "@@" in name:
            name, version = name.split("@@", 1)
        elif "@" in name:
            name, version = name.split("@", 1)
            default = False
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            continue
        yield name, version, default, kind, int(size, 0)


def source(symbols) -> tuple[str, str]:
    c, versions, seen = [], {}, set()
    for i, (name, version, default, kind, size) in enumerate(symbols):
        local = name if default else f"reel_stub_{i}_{name}"
        if (local, version) in seen:
            continue
        seen.add((local, version))
        if kind in ("FUNC", "IFUNC"):
            c.append(f"long {local}(void) {{ return 0; }}")
        elif kind == "TLS":
            c.append(f"__thread char {local}[{max(size, 1)}];")
        else:
            c.append(f"char {local}[{max(size, 1)}] __attribute__((aligned(16)));")
        if version and not default:
            c.append(f'__asm__(".symver {local}, {name}@{version}");')
        if version:
            versions.setdefault(version, []).append(name if default else local)
    script = "".join(f"{v} {{ global: {'; '.join(sorted(set(n)))}; }};\n" for v, n in versions.items()) or "{ };\n"
    return "\n".join(c) + "\n", script


def main() -> None:
    lib, out_dir = sys.argv[1], Path(sys.argv[2])
    name = soname(lib)
    code, script = source(list(exported(lib)))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "stub.c").write_text(code)
        (Path(tmp) / "stub.map").write_text(script)
        cmd = ["gcc", "-shared", "-fPIC", "-O0", "-w", "-nostdlib", "-o", str(out_dir / name), str(Path(tmp) / "stub.c")]
        cmd += [f"-Wl,-soname,{name}", f"-Wl,--version-script,{Path(tmp) / 'stub.map'}"]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
