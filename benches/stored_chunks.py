"""Reads chunks out of a local argon store, as docs/store-format.md lays it
out: in pack files (packs/<id>.pack, a trailer naming each chunk's offset
and length) or, for stores written before packs, a file each."""

import pathlib
import struct
import subprocess


def pack_index(project: pathlib.Path) -> dict:
    """chunk id -> (pack path, offset, length)."""
    out = {}
    for pack in (project / "packs").glob("*.pack"):
        data = pack.read_bytes()
        assert data[-8:] == b"ARGPACK1", pack
        (count,) = struct.unpack("<I", data[-12:-8])
        table = data[-12 - 40 * count:-12]
        for i in range(count):
            entry = table[40 * i:40 * (i + 1)]
            offset, length = struct.unpack("<II", entry[32:])
            out[entry[:32].hex()] = (pack, offset, length)
    return out


class Chunks:
    def __init__(self, project: pathlib.Path):
        self.project = project
        self.index = pack_index(project)

    def stored(self, cid: str) -> bytes:
        """A chunk's stored bytes: one zstd frame."""
        if cid in self.index:
            pack, offset, length = self.index[cid]
            with open(pack, "rb") as f:
                f.seek(offset)
                return f.read(length)
        return (self.project / "chunks" / cid[:2] / cid).read_bytes()

    def data(self, cid: str) -> bytes:
        """A chunk's content, decompressed by the zstd command."""
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=self.stored(cid), check=True, capture_output=True).stdout
