"""Two small C loops for the bit-packed Willshaw memory, compiled on first use (optional).

Storing tens of millions of patterns into a 10^5 × 10^5 bit matrix is bound by random memory
access: a plain C loop sets about 5·10^7 bits/s on one core here, a vectorised numpy/torch
scatter about 1·10^7 (measured, 2-core AMD EPYC, loaded). The kernels are compiled with the
system C compiler (``cc``) into a cache directory (``$NEUROPLASTIC_NATIVE_DIR``, default
``<tmp>/neuroplastic-native-<uid>``) and loaded with :mod:`ctypes`. When no compiler is available
(or ``NEUROPLASTIC_NO_NATIVE=1``) :func:`kernels` returns ``None`` and
:class:`~neuroplastic.memory.packed.PackedWillshaw` uses its torch path, which gives the same
results (tested).

Layout (shared with ``packed.py``): weights W (m, n) are stored as bytes ``bits[i >> 3, j]``
holding W_ij in bit ``i & 7`` (packed along the input index), so the row of input unit i is one
contiguous run of n bytes.

- ``np_store(bits, n, iu, iv, P, k, l)``: for every pattern p and valid pair (iu[p, a], iv[p, c])
  (negative index = padding) set the bit; returns the number of bits switched 0 → 1 (exact, also
  with repeated pairs).
- ``np_potentials(bits, n, iq, B, z, x)``: x[b, j] = Σ_a W[iq[b, a], j] (float32 (B, n)).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["kernels"]

_SOURCE = r"""
#include <stdint.h>
#include <string.h>

int64_t np_store(uint8_t* bits, int64_t n, const int64_t* iu, const int64_t* iv,
                 int64_t P, int64_t k, int64_t l) {
    int64_t count = 0;
    for (int64_t p = 0; p < P; p++) {
        const int64_t* u = iu + p * k;
        const int64_t* v = iv + p * l;
        for (int64_t a = 0; a < k; a++) {
            int64_t i = u[a];
            if (i < 0) continue;
            uint8_t* row = bits + (i >> 3) * n;
            uint8_t bit = (uint8_t)(1u << (i & 7));
            for (int64_t c = 0; c < l; c++) {
                int64_t j = v[c];
                if (j < 0) continue;
                uint8_t old = row[j];
                count += (old & bit) == 0;
                row[j] = old | bit;
            }
        }
    }
    return count;
}

void np_potentials(const uint8_t* bits, int64_t n, const int64_t* iq, int64_t B, int64_t z,
                   float* x) {
    for (int64_t b = 0; b < B; b++) {
        float* xb = x + b * n;
        memset(xb, 0, (size_t)n * sizeof(float));
        for (int64_t a = 0; a < z; a++) {
            int64_t i = iq[b * z + a];
            if (i < 0) continue;
            const uint8_t* row = bits + (i >> 3) * n;
            int sh = (int)(i & 7);
            for (int64_t j = 0; j < n; j++) xb[j] += (float)((row[j] >> sh) & 1);
        }
    }
}
"""

_FLAGS = ["-O3", "-shared", "-fPIC"]
_loaded: ctypes.CDLL | None = None
_tried = False


def _cache_dir() -> Path:
    env = os.environ.get("NEUROPLASTIC_NATIVE_DIR")
    if env:
        return Path(env)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"neuroplastic-native-{uid}"


def _build() -> ctypes.CDLL | None:
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        return None
    digest = hashlib.sha256((_SOURCE + " ".join(_FLAGS)).encode()).hexdigest()[:16]
    folder = _cache_dir()
    lib = folder / f"packed_{digest}.so"
    if not lib.exists():
        folder.mkdir(parents=True, exist_ok=True)
        src = folder / f"packed_{digest}_{os.getpid()}.c"
        tmp = folder / f"packed_{digest}_{os.getpid()}.so"
        src.write_text(_SOURCE)
        try:
            subprocess.run(
                [compiler, *_FLAGS, str(src), "-o", str(tmp)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            os.replace(tmp, lib)  # atomic: concurrent builders agree
        except (OSError, subprocess.SubprocessError):
            return None
        finally:
            src.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
    try:
        dll = ctypes.CDLL(str(lib))
    except OSError:
        return None
    ptr, i64 = ctypes.c_void_p, ctypes.c_int64
    dll.np_store.argtypes = [ptr, i64, ptr, ptr, i64, i64, i64]
    dll.np_store.restype = i64
    dll.np_potentials.argtypes = [ptr, i64, ptr, i64, i64, ptr]
    dll.np_potentials.restype = None
    return dll


def kernels() -> ctypes.CDLL | None:
    """The compiled kernels, or ``None`` (no compiler, or ``NEUROPLASTIC_NO_NATIVE=1``)."""
    global _loaded, _tried
    if os.environ.get("NEUROPLASTIC_NO_NATIVE") == "1":
        return None
    if not _tried:
        _tried = True
        _loaded = _build()
    return _loaded
