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
import math
import re
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


_MISSING = object()
_INTEGER = re.compile(r"-?[0-9]+")  # what int.__repr__ writes, nothing else int() accepts
_REF = re.compile(r"[0-9]{1,30}")
_BIT_GENERATORS = {"PCG64": np.random.PCG64, "Philox": np.random.Philox,
                   "MT19937": np.random.MT19937, "SFC64": np.random.SFC64,
                   "PCG64DXSM": np.random.PCG64DXSM}
# numpy sets these positions unchecked and reads its buffers at them: keep them in bounds
_RNG_POSITIONS = {"MT19937": (("state", "pos"), 624), "Philox": (("buffer_pos",), 4)}


def _field(d: dict, key: str, *types: type) -> Any:
    """``d[key]`` if it is exactly of one of ``types`` (JSON's: a bool is no int), else refused."""
    v = d.get(key, _MISSING)
    if type(v) not in types:
        raise ValueError(f"malformed value: {key!r} is missing or of the wrong type")
    return v


def _decode_array(d: dict, budget: _Budget | None = None) -> np.ndarray:
    if type(d) is not dict:
        raise ValueError("malformed array")
    dtype = d.get("dtype")
    if type(dtype) is not str or dtype not in _DTYPES:
        raise ValueError("unsupported array type")
    shape = _field(d, "shape", list)
    if len(shape) > 32 or any(type(s) is not int or s < 0 for s in shape):
        raise ValueError("malformed array shape")
    if any(s > MAX_ITEMS for s in shape):
        raise ValueTooLarge(f"the array holds more than {MAX_ITEMS} items")
    n = math.prod(shape)
    (budget or _Budget()).take(n)
    b64 = _field(d, "b64", str)
    if len(b64) > 4 * MAX_REPLY_BYTES:
        raise ValueTooLarge("the array is too large")
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:  # binascii.Error
        raise ValueError("array data is not base64") from None
    if len(raw) != n * np.dtype(dtype).itemsize:
        raise ValueError("array data does not match its shape")
    if dtype == "bool" and raw.translate(None, b"\0\1"):
        raise ValueError("a boolean array holds a byte other than 0 or 1")
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()


def _decode_rng(data: dict) -> np.random.Generator:
    bit_generator = _BIT_GENERATORS.get(_field(data, "kind", str))
    if bit_generator is None:
        raise ValueError("unknown random generator")
    text = _field(data, "v", str)
    if len(text) > 100_000:
        raise ValueTooLarge("a random generator's state is too large")
    try:
        state = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("malformed random generator state") from None
    bit = bit_generator(0)
    try:
        bit.state = state
        position, top = _RNG_POSITIONS.get(type(bit).__name__, ((), None))
        pos = bit.state
        for key in position:
            pos = pos[key]
    except (TypeError, ValueError, KeyError, IndexError, OverflowError):
        raise ValueError("malformed random generator state") from None
    if top is not None and not 0 <= pos <= top:
        raise ValueError("malformed random generator state")
    return np.random.Generator(bit)


def decode(data: Any, resolve=None, _depth: int = 0, _budget: _Budget | None = None) -> Any:
    """JSON structure -> value. ``resolve(ref, kind, text)`` turns handles into objects.

    Raises ValueError (:class:`ValueTooLarge` past the limits) on anything malformed, and
    nothing else: each field is checked for its exact JSON type before it is used."""
    budget = _budget or _Budget()
    if _depth > MAX_DEPTH:
        raise ValueTooLarge(f"the value is nested more than {MAX_DEPTH} deep")
    if type(data) is not dict:
        raise ValueError("malformed value")
    t = _field(data, "t", str)
    budget.take(1)
    if t == "v":
        v = data.get("v", _MISSING)
        if v is not None and type(v) not in (bool, str):
            raise ValueError("malformed value")
        if type(v) is str and len(v) > MAX_STRING:
            raise ValueTooLarge(f"a string longer than {MAX_STRING} characters")
        return v
    if t == "int":
        v = _field(data, "v", str)
        if len(v.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueTooLarge(f"an integer of more than {MAX_INT_DIGITS} digits")
        if not _INTEGER.fullmatch(v):
            raise ValueError("malformed integer")
        return int(v)
    if t == "float":
        v = _field(data, "v", str)
        if len(v) > 40:
            raise ValueError("malformed number")
        return float(v)
    if t == "npscalar":
        arr = _decode_array(_field(data, "a", dict), budget)
        if arr.shape != ():
            raise ValueError("a numpy scalar with a shape")
        return arr[()]
    if t == "nd":
        return _decode_array(data, budget)
    if t == "tensor":
        import torch

        grad = data.get("grad", False)
        if type(grad) is not bool:
            raise ValueError("malformed tensor")
        tensor = torch.from_numpy(_decode_array(_field(data, "a", dict), budget))
        return tensor.requires_grad_(True) if grad and tensor.is_floating_point() else tensor
    if t in ("list", "tuple", "set", "frozenset"):
        items = [decode(v, resolve, _depth + 1, budget) for v in _field(data, "v", list)]
        try:
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[t](items)
        except TypeError:
            raise ValueError("a set holds a value that cannot be hashed") from None
    if t == "dict":
        out = {}
        for pair in _field(data, "v", list):
            if type(pair) is not list or len(pair) != 2:
                raise ValueError("malformed dictionary item")
            key = decode(pair[0], resolve, _depth + 1, budget)
            value = decode(pair[1], resolve, _depth + 1, budget)
            try:
                out[key] = value
            except TypeError:
                raise ValueError("a dictionary key that cannot be hashed") from None
        return out
    if t == "range":
        bounds = _field(data, "v", list)
        if len(bounds) != 3 or not all(type(x) is int for x in bounds):
            raise ValueError("malformed range")
        r = range(*bounds)  # a step of 0 raises ValueError
        try:
            n = len(r)
        except OverflowError:
            raise ValueTooLarge(f"a range longer than {MAX_ITEMS}") from None
        budget.take(n)  # whoever receives it may expand it
        return r
    if t == "rng":
        return _decode_rng(data)
    if t == "ref":
        if resolve is None:
            raise ValueError("unexpected reference")
        ref = data.get("ref")
        if type(ref) is str and _REF.fullmatch(ref):
            ref = int(ref)
        if type(ref) is not int or ref < 0:
            raise ValueError("malformed reference")
        kind, text = data.get("kind", ""), data.get("text", "")
        if type(kind) is not str or type(text) is not str:
            raise ValueError("malformed reference")
        return resolve(ref, kind[:100], text[:200])
    raise ValueError(f"unknown value type {t[:40]!r}")


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
