"""Values crossing between a grading kernel and the grader.

When a notebook is graded, test cells do not run in the student's kernel: they run in the
grader's own process and reach the student's functions and variables through this module.
Student code therefore cannot change how answers are checked (monkeypatching numpy or the
checks, reading the caller's frame) — it can only return values.

The codec is plain JSON with tagged numbers, strings, containers, numpy arrays and torch
tensors; anything else stays in the kernel and is referred to by a handle. Decoding never
executes code (no pickle), so a hostile kernel can only send data, and only so much of it:
:func:`decode` refuses values nested deeper than :data:`MAX_DEPTH`, holding more than
:data:`MAX_ITEMS` items or array elements in all, strings longer than :data:`MAX_STRING`,
integers of more than :data:`MAX_INT_DIGITS` digits and ranges longer than
:data:`MAX_ITEMS` (a ``range`` is not a licence for numpy to allocate), with a one-line
:class:`ValueTooLarge`.

Numbers keep their value and kind exactly: numpy scalars travel as numpy scalars, and a
subclass of ``float`` or ``int`` (whose ``repr`` may be anything) as the plain number.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import numpy as np

from ..limits import LIMITS

__all__ = ["encode", "decode", "KernelServer", "MAX_REPLY_BYTES", "ValueTooLarge"]

MAX_REPLY_BYTES = LIMITS.reply_bytes  # below the grader's limit on any one message
MAX_DEPTH = 50
MAX_ITEMS = 2_000_000
MAX_STRING = 1_000_000
MAX_INT_DIGITS = 4000


class ValueTooLarge(ValueError):
    """A value from the kernel is larger than the grader accepts."""
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}


class Handle:
    """A reference to an object that stays in the kernel."""

    def __init__(self, ref: int, kind: str, text: str):
        self.ref, self.kind, self.text = ref, kind, text


def _array(a: np.ndarray) -> dict | None:
    if a.dtype.name not in _DTYPES:
        return None
    a = np.array(a, order="C", copy=True)
    return {"t": "nd", "dtype": a.dtype.name, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def encode(value: Any, register=None, depth: int = 0) -> Any:
    """Value -> JSON-able structure. ``register(obj) -> Handle`` keeps the unencodable."""
    if depth > 50:
        raise ValueError("the value is nested too deeply to send")
    if isinstance(value, np.generic) and value.dtype.name in _DTYPES:
        return {"t": "npscalar", "a": _array(np.asarray(value))}
    if value is None or type(value) in (bool, str):
        return {"t": "v", "v": value}
    if isinstance(value, bool):
        return {"t": "v", "v": bool(value)}
    if isinstance(value, str):
        return {"t": "v", "v": str.__str__(value)}
    if isinstance(value, int):
        return {"t": "int", "v": int.__repr__(value)}
    if isinstance(value, float):
        return {"t": "float", "v": float.__repr__(value)}
    if isinstance(value, np.ndarray):
        enc = _array(value)
        if enc is not None:
            return enc
    if type(value).__module__.startswith("torch") and type(value).__name__ in (
            "Tensor", "Parameter"):
        enc = _array(value.detach().cpu().numpy())
        if enc is not None:
            return {"t": "tensor", "a": enc, "grad": bool(value.requires_grad)}
    if isinstance(value, list | tuple | set | frozenset):
        tag = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}.get(type(value))
        if tag is not None:
            return {"t": tag, "v": [encode(v, register, depth + 1) for v in value]}
    if type(value) is dict:
        return {"t": "dict", "v": [[encode(k, register, depth + 1),
                                    encode(v, register, depth + 1)] for k, v in value.items()]}
    if isinstance(value, range):
        return {"t": "range", "v": [value.start, value.stop, value.step]}
    if isinstance(value, np.random.Generator):
        return {"t": "rng", "v": json.dumps(value.bit_generator.state, default=int),
                "kind": type(value.bit_generator).__name__}
    if register is None:
        raise TypeError(f"a {type(value).__name__} cannot be sent")
    h = register(value)
    return {"t": "ref", "ref": h.ref, "kind": h.kind, "text": h.text}


class _Budget:
    def __init__(self):
        self.items = 0

    def take(self, n: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            raise ValueTooLarge(f"the value holds more than {MAX_ITEMS} items")


def _decode_array(d: dict, budget: _Budget | None = None) -> np.ndarray:
    if not isinstance(d, dict) or d.get("dtype") not in _DTYPES:
        raise ValueError("unsupported array type")
    shape = tuple(int(s) for s in d["shape"])
    if len(shape) > 32 or any(s < 0 for s in shape):
        raise ValueError("malformed array shape")
    n = 1
    for s in shape:
        n *= s
    (budget or _Budget()).take(n)
    b64 = d["b64"]
    if not isinstance(b64, str) or len(b64) > 4 * MAX_REPLY_BYTES:
        raise ValueTooLarge("the array is too large")
    raw = base64.b64decode(b64, validate=True)
    arr = np.frombuffer(raw, dtype=np.dtype(d["dtype"]))
    if arr.size != n:
        raise ValueError("array data does not match its shape")
    return arr.reshape(shape).copy()


def decode(data: Any, resolve=None, _depth: int = 0, _budget: _Budget | None = None) -> Any:
    """JSON structure -> value. ``resolve(ref, kind, text)`` turns handles into objects.

    Raises ValueError (:class:`ValueTooLarge` past the limits) on anything malformed."""
    budget = _budget or _Budget()
    if _depth > MAX_DEPTH:
        raise ValueTooLarge(f"the value is nested more than {MAX_DEPTH} deep")
    if not isinstance(data, dict) or "t" not in data:
        raise ValueError("malformed value")
    budget.take(1)
    t = data["t"]
    if t == "v":
        v = data["v"]
        if v is not None and not isinstance(v, bool | str):
            raise ValueError("malformed value")
        if isinstance(v, str) and len(v) > MAX_STRING:
            raise ValueTooLarge(f"a string longer than {MAX_STRING} characters")
        return v
    if t == "int":
        v = data["v"]
        if not isinstance(v, str) or len(v.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueTooLarge(f"an integer of more than {MAX_INT_DIGITS} digits")
        return int(v)
    if t == "float":
        v = data["v"]
        if not isinstance(v, str) or len(v) > 40:
            raise ValueError("malformed number")
        return float(v)
    if t == "npscalar":
        return _decode_array(data["a"], budget)[()]
    if t == "nd":
        return _decode_array(data, budget)
    if t == "tensor":
        import torch

        tensor = torch.from_numpy(_decode_array(data["a"], budget))
        return tensor.requires_grad_(True) if data.get("grad") and tensor.is_floating_point() \
            else tensor
    if t in ("list", "tuple", "set", "frozenset"):
        if not isinstance(data["v"], list):
            raise ValueError("malformed value")
        items = [decode(v, resolve, _depth + 1, budget) for v in data["v"]]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[t](items)
    if t == "dict":
        if not isinstance(data["v"], list):
            raise ValueError("malformed value")
        return {decode(k, resolve, _depth + 1, budget): decode(v, resolve, _depth + 1, budget)
                for k, v in data["v"]}
    if t == "range":
        bounds = data["v"]
        if not isinstance(bounds, list) or len(bounds) != 3 or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in bounds):
            raise ValueError("malformed range")
        r = range(*bounds)
        budget.take(len(r))  # whoever receives it may expand it
        return r
    if t == "rng":
        kinds = {"PCG64": np.random.PCG64, "Philox": np.random.Philox, "MT19937":
                 np.random.MT19937, "SFC64": np.random.SFC64, "PCG64DXSM": np.random.PCG64DXSM}
        if len(str(data["v"])) > 100_000:
            raise ValueTooLarge("a random generator's state is too large")
        bit = kinds[data["kind"]]()
        bit.state = json.loads(data["v"])
        return np.random.Generator(bit)
    if t == "ref":
        if resolve is None:
            raise ValueError("unexpected reference")
        return resolve(int(data["ref"]), str(data.get("kind", ""))[:100],
                       str(data.get("text", ""))[:200])
    raise ValueError(f"unknown value type {t!r}")


FRAME_HEAD = struct.Struct(">III")  # payload length, session, request number


def send_frame(sock, session: int, number: int, payload: bytes) -> None:
    """One frame on a judge channel: a 12-byte head, then the payload."""
    sock.sendall(FRAME_HEAD.pack(len(payload), session, number) + payload)


def recv_frame(sock) -> tuple[int, int, bytes] | None:
    """The next frame (session, number, payload) read from a blocking socket; None at the
    end of the stream. Only the kernel's side reads this way: the grader reads frames with
    a size limit and a deadline (:class:`autograder.kernel.GradingKernel`)."""
    head = _recv_exact(sock, FRAME_HEAD.size)
    if head is None:
        return None
    length, session, number = FRAME_HEAD.unpack(head)
    body = _recv_exact(sock, length)
    return None if body is None else (session, number, body)


def _recv_exact(sock, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class KernelServer:
    """Runs in the student's kernel: looks up names, calls functions, keeps handles.

    ``channel``: the file descriptor of this kernel's end of a socket pair whose other end
    only the grader holds (given to the kernel process when it starts). During a test cell
    the grader runs :meth:`serve` once, as one silent cell, and sends its requests on the
    channel, one frame each, instead of one Jupyter message exchange per request."""

    def __init__(self, namespace: dict, channel: int | None = None):
        self.ns = namespace
        self.objects: dict[int, Any] = {}
        self.channel = None
        if channel is not None:
            import socket

            self.channel = socket.socket(fileno=channel)
            self.channel.set_inheritable(False)

    def serve(self, session: int) -> None:
        """Answer requests on the channel until the grader ends ``session`` (its frame 0).

        Each request is handed to the namespace's ``__rnn_rpc__`` (:meth:`handle` unless the
        notebook replaced it: whatever it answers is only data to the grader)."""
        sock = self.channel
        sock.setblocking(False)
        try:  # bytes a request interrupted earlier may have left
            while sock.recv(1 << 16):
                pass
        except BlockingIOError:
            pass
        sock.setblocking(True)
        send_frame(sock, session, 0, b"")  # ready
        while True:
            frame = recv_frame(sock)
            if frame is None:
                return  # the grader is gone
            s, n, body = frame
            if s != session:
                continue
            if n == 0:
                return
            rpc = self.ns.get("__rnn_rpc__")
            text = rpc(body.decode("utf-8")) if callable(rpc) else None
            data = text.encode("utf-8", "replace") if isinstance(text, str) else \
                b'{"ok": false, "ename": "GradingError", "evalue": "no answer"}'
            send_frame(sock, session, n, data)

    def _register(self, obj: Any) -> Handle:
        ref = id(obj)
        self.objects[ref] = obj
        kind = "callable" if callable(obj) else type(obj).__name__
        try:
            text = repr(obj)[:200]
        except Exception:
            text = f"<{type(obj).__name__}>"
        return Handle(ref, kind, text)

    def _resolve(self, ref: int, kind: str, text: str) -> Any:
        return self.objects[ref]

    def _args(self, blob: str | None) -> tuple[list, dict]:
        if not blob:
            return [], {}
        import pickle  # the grader's own arguments (trusted direction only)

        args, kwargs, refs = pickle.loads(base64.b64decode(blob))
        swap = {i: self.objects[r] for i, r in refs.get("args", {}).items()}
        args = [swap.get(i, a) for i, a in enumerate(args)]
        for k, r in refs.get("kwargs", {}).items():
            kwargs[k] = self.objects[r]
        return args, kwargs

    def handle(self, request_json: str) -> str:
        req = json.loads(request_json)
        try:
            value = self._do(req)
            reply = {"ok": True, "value": encode(value, self._register)}
        except BaseException as e:  # the student's code failed: report it as data
            if isinstance(e, KeyboardInterrupt):
                raise
            reply = {"ok": False, "ename": type(e).__name__, "evalue": str(e)[:2000]}
        text = json.dumps(reply)
        if len(text) > MAX_REPLY_BYTES:
            text = json.dumps({"ok": False, "ename": "AnswerTooLarge",
                               "evalue": f"the value is larger than {MAX_REPLY_BYTES} bytes"})
        return text

    def _do(self, req: dict) -> Any:
        op = req["op"]
        if op == "name":
            name = req["name"]
            if name not in self.ns:
                raise NameError(f"name '{name}' is not defined")
            return self.ns[name]
        target = self.objects[int(req["ref"])]
        if op == "getattr":
            return getattr(target, req["name"])
        if op == "getitem":
            args, _ = self._args(req.get("args"))
            return target[args[0]]
        if op == "len":
            return len(target)
        if op == "list":
            return list(target)
        if op == "call":
            args, kwargs = self._args(req.get("args"))
            modules = req.get("forbid") or []
            if modules:
                import importlib

                from .guard import forbid

                with forbid(*[importlib.import_module(m) for m in modules]):
                    return target(*args, **kwargs)
            return target(*args, **kwargs)
        raise ValueError(f"unknown request {op!r}")
