"""The codec between a grading kernel and the grader (rnnkit._grading.remote), on its own.

Whatever a hostile kernel sends, :func:`decode` returns data or raises; it never runs code,
never allocates past its limits and never takes long. Runs in about a second.
"""

from __future__ import annotations

import base64
import json
import random
import time

import numpy as np
import pytest

from rnnkit._grading import remote
from rnnkit._grading.remote import KernelServer, ValueTooLarge, decode, encode


def wire(value, register=None):
    """What crosses the connection: the encoded value as JSON text, parsed again."""
    return json.loads(json.dumps(encode(value, register)))


def nd(dtype="float64", shape=(2,), raw=b"\0" * 16):
    return {"t": "nd", "dtype": dtype, "shape": list(shape),
            "b64": base64.b64encode(raw).decode()}


NONE = {"t": "v", "v": None}


def state_at(kind, path, pos):
    """A random generator's state as it travels, with the position at ``path`` set to ``pos``."""
    state = getattr(np.random, kind)(1).state
    inner = state
    for key in path[:-1]:
        inner = inner[key]
    inner[path[-1]] = pos
    return json.dumps(state, default=lambda a: a.tolist())


# ------------------------------------------------------------------------------ round trips

@pytest.mark.parametrize("value", [
    None, True, False, "", "héllo\n\0", 0, -7, 10**30, 0.1, -0.0, float("inf"), 1e-310,
    [1, [2, "x"]], (1, (2.5,)), {1, 2}, frozenset({"a"}), {"a": [1], 2: (3,)}, {(1, 2): None},
    range(3, 20, 4), np.float64(0.1), np.int64(-3), np.bool_(True), np.float32(2.5),
    np.uint8(7), np.complex128(1 + 2j),
])
def test_plain_values_round_trip_with_their_type(value):
    back = decode(wire(value))
    assert back == value and type(back) is type(value)


def test_nan_round_trips():
    assert np.isnan(decode(wire(float("nan"))))


@pytest.mark.parametrize("dtype", sorted(remote._DTYPES))
def test_arrays_round_trip_exactly(dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    back = decode(wire(a[:, ::2]))  # not contiguous
    assert back.dtype == a.dtype and back.shape == (2, 2, 4)
    np.testing.assert_array_equal(back, a[:, ::2])
    assert back.flags.writeable and back.flags.c_contiguous


def test_tensors_round_trip_with_requires_grad():
    import torch

    t = torch.arange(6.0).reshape(2, 3).requires_grad_(True)
    back = decode(wire(t))
    assert isinstance(back, torch.Tensor) and back.requires_grad
    assert torch.equal(back.detach(), t.detach())
    plain = decode(wire(torch.arange(3)))
    assert not plain.requires_grad and plain.dtype == torch.int64


def test_a_random_generator_keeps_its_state():
    rng = np.random.default_rng(5)
    rng.normal(size=3)
    back = decode(wire(rng))
    assert back is not rng and back.normal() == rng.normal()


def test_subclasses_travel_as_the_plain_number_or_string():
    class Odd(float):
        def __repr__(self):
            return "__import__('os').system('echo pwned')"

        def __eq__(self, other):
            return True

    class Loud(str):
        def __str__(self):
            return "changed"

    class Big(int):
        def __repr__(self):
            return "1e400"

    for value, plain in ((Odd(2.0), 2.0), (Loud("ok"), "ok"), (Big(12), 12)):
        back = decode(wire(value))
        assert type(back) is type(plain) and back == plain, (value, back)


def test_the_unencodable_becomes_a_handle_only_with_a_register():
    def f():
        return 1

    with pytest.raises(TypeError):
        encode(f)
    server = KernelServer({})
    data = wire(f, server._register)
    assert data["t"] == "ref" and server.objects[data["ref"]] is f
    with pytest.raises(ValueError):
        decode(data)  # no resolver: a reference is refused
    seen = []
    decode(data, lambda ref, kind, text: seen.append((ref, kind, text)))
    assert seen == [(id(f), "callable", repr(f)[:200])]


def test_a_references_texts_are_cut_short():
    seen = []
    decode({"t": "ref", "ref": "12", "kind": "k" * 10**5, "text": "t" * 10**5},
           lambda ref, kind, text: seen.append((ref, kind, text)))
    assert seen == [(12, "k" * 100, "t" * 200)]


# -------------------------------------------------------------------- hostile data: limits

def nested(depth, tag="list"):
    data = NONE
    for _ in range(depth):
        data = {"t": tag, "v": [data]} if tag != "dict" else {"t": "dict", "v": [[NONE, data]]}
    return data


@pytest.mark.parametrize("tag", ["list", "tuple", "set", "frozenset", "dict"])
def test_nesting_is_limited(tag):
    decode(nested(remote.MAX_DEPTH - 1, tag) if tag != "set" else nested(0))
    with pytest.raises(ValueTooLarge):
        decode(nested(remote.MAX_DEPTH + 1, tag))


def test_nesting_in_dict_keys_is_limited():
    data = NONE
    for _ in range(remote.MAX_DEPTH + 1):
        data = {"t": "dict", "v": [[data, NONE]]}
    with pytest.raises(ValueTooLarge):
        decode(data)


def test_a_very_deep_value_is_refused_without_recursing_through_it():
    data = nested(20_000)  # json itself could not even parse this deep as text
    start = time.monotonic()
    with pytest.raises(ValueTooLarge):
        decode(data)
    assert time.monotonic() - start < 1


def test_the_item_budget_counts_everything_together():
    half = remote.MAX_ITEMS // 2
    arr = nd("uint8", (half,), b"\0" * half)
    decode({"t": "list", "v": [arr]})
    with pytest.raises(ValueTooLarge):
        decode({"t": "list", "v": [arr, arr, arr]})  # each fits, together they do not


def test_an_array_is_measured_by_its_shape_before_its_data_is_read():
    for shape in ([10**5, 10**5], [2**62, 2**62], [remote.MAX_ITEMS + 1]):
        start = time.monotonic()
        with pytest.raises(ValueTooLarge):
            decode({"t": "nd", "dtype": "float64", "shape": shape, "b64": ""})
        assert time.monotonic() - start < 0.5


def test_array_data_too_large_for_any_reply_is_refused_unread():
    huge = "A" * (4 * remote.MAX_REPLY_BYTES + 4)
    with pytest.raises(ValueTooLarge):
        decode({"t": "nd", "dtype": "uint8", "shape": [1], "b64": huge})


@pytest.mark.parametrize("data", [
    {"t": "int", "v": "9" * (remote.MAX_INT_DIGITS + 1)},
    {"t": "int", "v": "-" + "9" * (remote.MAX_INT_DIGITS + 1)},
    {"t": "v", "v": "x" * (remote.MAX_STRING + 1)},
    {"t": "range", "v": [0, remote.MAX_ITEMS + 1, 1]},
    {"t": "range", "v": [0, 4 * 10**8, 1]},
    {"t": "rng", "kind": "PCG64", "v": " " * 100_001},
])
def test_oversized_scalars_are_refused(data):
    with pytest.raises(ValueTooLarge):
        decode(data)


def test_limits_are_inclusive_of_the_largest_allowed_value():
    assert decode({"t": "int", "v": "9" * remote.MAX_INT_DIGITS}) == 10**remote.MAX_INT_DIGITS - 1
    assert len(decode({"t": "v", "v": "x" * remote.MAX_STRING})) == remote.MAX_STRING
    assert len(decode({"t": "range", "v": [0, 1000, 1]})) == 1000


def test_a_range_stays_a_range():
    r = decode({"t": "range", "v": [0, 10**6, 1]})
    assert type(r) is range  # not expanded into a list by the grader


# ------------------------------------------------------------- hostile data: malformed

MALFORMED = [
    None, 3, "x", [], [NONE], {}, {"v": 1}, {"t": None}, {"t": "nope"}, {"t": "pickle", "v": ""},
    {"t": "v", "v": 3}, {"t": "v", "v": [1]}, {"t": "v", "v": {"t": "v"}},
    {"t": "int", "v": 3}, {"t": "int", "v": "3.5"}, {"t": "int", "v": "0x10"},
    {"t": "int", "v": "__import__('os')"},
    {"t": "float", "v": 1.5}, {"t": "float", "v": "1" * 41}, {"t": "float", "v": "os.getcwd()"},
    {"t": "list", "v": "abc"}, {"t": "list", "v": {"t": "v"}}, {"t": "list", "v": [1]},
    {"t": "dict", "v": {"a": 1}}, {"t": "dict", "v": [[NONE]]},
    {"t": "dict", "v": [[NONE, NONE, NONE]]},
    {"t": "range", "v": [0, 1]}, {"t": "range", "v": [0, 1, 0]}, {"t": "range", "v": "0,1,1"},
    {"t": "range", "v": [0, True, 1]}, {"t": "range", "v": [0, 1.0, 1]},
    nd(dtype="object"), nd(dtype="O"), nd(dtype="V8"), nd(dtype="<f8"), nd(dtype="datetime64"),
    nd(shape=(-1,)), nd(shape=(1,) * 33), nd(shape=(3,)),
    nd(raw=b"\0" * 15), nd(shape=("2",), raw=b"\0" * 15),
    {"t": "nd", "dtype": "float64", "shape": [1], "b64": "not base64!"},
    {"t": "nd", "dtype": "float64", "shape": [1], "b64": b"\0" * 8},
    {"t": "nd", "dtype": "float64", "shape": [1], "b64": 12},
    {"t": "npscalar", "a": "float64"}, {"t": "npscalar", "a": nd(dtype="object")},
    {"t": "tensor", "a": nd(dtype="object")},
    {"t": "rng", "kind": "PCG64", "v": "{}"},
    {"t": "ref", "ref": "x"}, {"t": "ref", "ref": 1},  # the second: no resolver
    # missing keys, and keys of the wrong JSON type
    {"t": "v"}, {"t": "int"}, {"t": "float"}, {"t": "list"}, {"t": "dict"}, {"t": "range"},
    {"t": "npscalar"}, {"t": "tensor"}, {"t": "rng"}, {"t": "rng", "kind": "PCG64"},
    {"t": ["v"], "v": None}, {"t": 1}, {"t": "float", "v": None},
    {"t": "nd", "dtype": "float64"}, {"t": "nd", "shape": [1], "b64": "AAAAAAAAAAA="},
    {"t": "nd", "dtype": "float64", "shape": [1]}, nd(dtype=["f8"]), nd(dtype=None),
    {"t": "dict", "v": [3]}, {"t": "dict", "v": [[{"t": "list", "v": []}, NONE]]},
    {"t": "dict", "v": [[nd(), NONE]]}, {"t": "set", "v": [{"t": "list", "v": []}]},
    {"t": "set", "v": [nd()]},
    # an integer in any form int() takes but int.__repr__ never writes
    {"t": "int", "v": "\u0663"}, {"t": "int", "v": " 3"}, {"t": "int", "v": "1_000"},
    {"t": "int", "v": "+3"}, {"t": "int", "v": "-"}, {"t": "int", "v": "-" * 5000 + "1"},
    # shapes: not a list, not whole numbers, booleans, negative, too large
    {"t": "nd", "dtype": "float64", "shape": 3, "b64": ""},
    {"t": "nd", "dtype": "float64", "shape": "2", "b64": ""},
    {"t": "nd", "dtype": "float64", "shape": {"0": 2}, "b64": ""},
    nd(shape=(2.5,)), nd(shape=(2.0,)), nd(shape=(True, 2)), nd(shape=(2, True)),
    nd(shape=(True,), raw=b"\0" * 8), nd(shape=(None,)), nd(shape=([2],)),
    nd(shape=(-2, -1)), nd(shape=(0, 10**30), raw=b""), nd(shape=(0, 2**64), raw=b""),
    nd("bool", (1,), b"\2"), nd("bool", (2,), b"\1\xff"),
    # a numpy scalar is shape (), a tensor's flag a bool
    {"t": "npscalar", "a": nd()}, {"t": "npscalar", "a": nd(shape=(1,), raw=b"\0" * 8)},
    {"t": "npscalar", "a": nd(shape=(1, 1), raw=b"\0" * 8)},
    {"t": "tensor", "a": nd(), "grad": "yes"}, {"t": "tensor", "a": nd(), "grad": 1},
    {"t": "tensor", "a": "nd"},
    # ranges too long to measure
    {"t": "range", "v": [0, 10**100, 1]}, {"t": "range", "v": [-(10**100), 0, 1]},
    # random generators: unknown or wrong kinds, states that are not one
    {"t": "rng", "kind": "__class__", "v": "{}"}, {"t": "rng", "kind": "Generator", "v": "{}"},
    {"t": "rng", "kind": 3, "v": "{}"}, {"t": "rng", "kind": "PCG64", "v": {}},
    {"t": "rng", "kind": "PCG64", "v": "[" * 50_000 + "]" * 50_000},
    {"t": "rng", "kind": "PCG64", "v": "not json"}, {"t": "rng", "kind": "PCG64", "v": "[]"},
    {"t": "rng", "kind": "MT19937", "v": json.dumps(np.random.PCG64(1).state, default=int)},
    {"t": "rng", "kind": "PCG64", "v": json.dumps({"bit_generator": "PCG64", "state": {}})},
    {"t": "rng", "kind": "PCG64", "v": json.dumps(
        {"bit_generator": "PCG64", "state": {"state": "1", "inc": []}})},
    {"t": "rng", "kind": "PCG64", "v": json.dumps(
        {"bit_generator": "PCG64", "state": {"state": 2**200, "inc": 1},
         "has_uint32": 0, "uinteger": 0})},
    # numpy reads its buffer at these positions without checking them
    {"t": "rng", "kind": "MT19937", "v": state_at("MT19937", ("state", "pos"), 10**6)},
    {"t": "rng", "kind": "MT19937", "v": state_at("MT19937", ("state", "pos"), -1)},
    {"t": "rng", "kind": "Philox", "v": state_at("Philox", ("buffer_pos",), -5)},
    {"t": "rng", "kind": "Philox", "v": state_at("Philox", ("buffer_pos",), 5)},
]


@pytest.mark.parametrize("data", MALFORMED, ids=lambda d: json.dumps(d, default=str)[:60])
def test_malformed_values_are_refused_with_a_value_error(data):
    start = time.monotonic()
    with pytest.raises(ValueError):
        decode(data)
    assert time.monotonic() - start < 1


def test_rng_positions_in_bounds_are_accepted():
    for kind, path, top in (("MT19937", ("state", "pos"), 624), ("Philox", ("buffer_pos",), 4)):
        for pos in (0, top):
            assert isinstance(decode({"t": "rng", "kind": kind, "v": state_at(kind, path, pos)}),
                              np.random.Generator)


@pytest.mark.parametrize("ref", [
    {"t": "ref"}, {"t": "ref", "ref": None}, {"t": "ref", "ref": True}, {"t": "ref", "ref": -1},
    {"t": "ref", "ref": 1.5}, {"t": "ref", "ref": "1e3"}, {"t": "ref", "ref": "-1"},
    {"t": "ref", "ref": "9" * 31}, {"t": "ref", "ref": [1]},
    {"t": "ref", "ref": 1, "kind": ["callable"]}, {"t": "ref", "ref": 1, "text": None},
    {"t": "ref", "ref": 1, "text": nested(900)},  # str() of it would recurse
])
def test_malformed_references_never_reach_the_resolver(ref):
    seen = []
    with pytest.raises(ValueError):
        decode(ref, lambda *a: seen.append(a))
    assert seen == []


# --------------------------------------------- hostile data: random mutations of valid data

VALID = [
    None, -3, 10**30, 2.5, "text", [1, (2, "x")], {"a": [1], 2: (3,)}, {frozenset({1}), 4},
    range(2, 9, 3), np.float32(1.5), np.int64(7), np.bool_(True), np.arange(6.0).reshape(2, 3),
    np.array([True, False]), np.zeros((0, 3), "int16"), np.random.default_rng(3),
]
JUNK = [None, True, False, 0, 1, -1, 2.5, 2**70, -(2**70), "", "x", "-", "nd", "float64", "bool",
        "A" * 8, [], {}, [None], [1, 2, 3], {"t": "v"}, NONE, [[NONE, NONE]]]
TAGS = ["v", "int", "float", "npscalar", "nd", "tensor", "list", "tuple", "set", "frozenset",
        "dict", "range", "rng", "ref"]


def _nodes(data, out):
    if isinstance(data, dict | list):
        out.append(data)
        for child in (data.values() if isinstance(data, dict) else data):
            _nodes(child, out)
    return out


def mutate(rng: random.Random, data):
    """One random change somewhere in ``data`` (in place): a key dropped or replaced, a tag or
    dtype swapped, a list item dropped, doubled or replaced, a string or number bent."""
    node = rng.choice(_nodes(data, []))
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    if not keys:
        return
    key = rng.choice(keys)
    old = node[key]
    change = rng.randrange(7)
    if change == 0 and isinstance(node, dict):
        del node[key]
    elif change == 1 and isinstance(node, list):
        node.insert(key, rng.choice([old, *JUNK]))
    elif change == 2 and isinstance(node, list):
        del node[key]
    elif change == 3 and isinstance(old, str):
        node[key] = rng.choice(TAGS + sorted(remote._DTYPES) + [old[:-1], old + "=", old[::-1]])
    elif change == 4 and isinstance(old, int) and not isinstance(old, bool):
        node[key] = rng.choice([-old, old + 1, old * 2**40, float(old), old + 0.5, True])
    else:
        node[key] = rng.choice(JUNK)


def mutations(rng: random.Random, n: int) -> list:
    out = []
    for _ in range(n):
        data = wire(rng.choice(VALID))
        for _ in range(rng.randrange(1, 4)):
            mutate(rng, data)
        out.append(data)
    return out


def test_random_mutations_of_valid_data_decode_or_raise_a_value_error():
    import torch

    start = time.monotonic()
    values = VALID + [torch.arange(4.0).requires_grad_(True)]
    kinds = set()
    for data in mutations(random.Random(0), 3000) + [wire(v) for v in values]:
        try:
            decode(data)
            kinds.add("value")
        except ValueError:
            kinds.add("refused")
        except Exception as e:  # noqa: BLE001 - the failure this test looks for
            pytest.fail(f"{type(e).__name__}: {e} from {json.dumps(data, default=str)[:300]}")
    assert kinds == {"value", "refused"}  # the mutations reach both outcomes
    assert time.monotonic() - start < 10

# ------------------------------------------------- hostile data: nothing is ever executed

class Boom(Exception):
    pass


def test_decoding_never_imports_or_calls_anything(monkeypatch):
    import builtins

    def no_import(*args, **kwargs):
        raise Boom("decode imported a module")

    tricks = [
        {"t": "v", "v": "__import__('os').system('true')"},
        {"t": "int", "v": "1" * 100},
        {"t": "float", "v": "1e308"},
        {"t": "dict", "v": [[{"t": "v", "v": "__reduce__"}, {"t": "v", "v": "os.system"}]]},
        {"t": "list", "v": [{"t": "float", "v": "nan"}, nd()]},
        {"t": "rng", "kind": "PCG64", "v": json.dumps(np.random.default_rng(1).bit_generator.state)},
        {"t": "npscalar", "a": nd(shape=(), raw=b"\0" * 8)},
    ]
    values = [decode(t) for t in tricks]  # warm: numpy's own lazy imports
    monkeypatch.setattr(builtins, "__import__", no_import)
    for trick, before in zip(tricks, values, strict=True):
        after = decode(trick)
        assert type(after) is type(before)
    assert values[0] == "__import__('os').system('true')"
    assert values[3] == {"__reduce__": "os.system"}


def test_no_pickle_or_eval_is_reachable_from_decode(monkeypatch):
    import builtins
    import pickle

    called = []
    for name in ("loads", "load"):
        monkeypatch.setattr(pickle, name, lambda *a, **k: called.append("pickle"))
    monkeypatch.setattr(builtins, "eval", lambda *a, **k: called.append("eval"))
    monkeypatch.setattr(builtins, "exec", lambda *a, **k: called.append("exec"))
    for data in MALFORMED + mutations(random.Random(1), 300):
        try:
            decode(data)
        except Exception:
            pass
    for value in ([1, (2,)], {"a": np.arange(3)}, np.float32(1), range(3)):
        decode(wire(value))
    assert called == []


def test_a_reference_only_ever_reaches_the_resolver():
    got = []

    def resolve(ref, kind, text):
        got.append((ref, kind, text))
        return ("resolved", ref)

    data = {"t": "list", "v": [{"t": "ref", "ref": 7, "kind": "callable", "text": "f"},
                               {"t": "dict", "v": [[{"t": "v", "v": "k"},
                                                    {"t": "ref", "ref": 8}]]}]}
    assert decode(data, resolve) == [("resolved", 7), {"k": ("resolved", 8)}]
    assert got == [(7, "callable", "f"), (8, "", "")]


# ------------------------------------------------------------ the kernel's side of it

def test_the_kernel_server_replies_with_data_or_an_error_as_data():
    def shout(text):
        return text.upper()

    def broken():
        raise KeyError("nope")

    server = KernelServer({"shout": shout, "broken": broken, "x": np.arange(3)})
    reply = json.loads(server.handle(json.dumps({"op": "name", "name": "x"})))
    np.testing.assert_array_equal(decode(reply["value"]), np.arange(3))
    reply = json.loads(server.handle(json.dumps({"op": "name", "name": "missing"})))
    assert reply == {"ok": False, "ename": "NameError",
                     "evalue": "name 'missing' is not defined"}
    ref = json.loads(server.handle(json.dumps({"op": "name", "name": "broken"})))["value"]
    reply = json.loads(server.handle(json.dumps({"op": "call", "ref": ref["ref"]})))
    assert reply["ok"] is False and reply["ename"] == "KeyError"


def test_a_reply_too_large_to_send_is_an_error_not_a_truncated_value():
    server = KernelServer({"big": np.zeros(remote.MAX_REPLY_BYTES // 8 + 10)})
    text = server.handle(json.dumps({"op": "name", "name": "big"}))
    assert len(text) < 1000
    assert json.loads(text)["ename"] == "AnswerTooLarge"


def test_arrays_of_objects_never_travel_by_value():
    for value in (np.array([object()], dtype=object), np.array(["a"]),
                  np.zeros(2, dtype=[("x", "f8")])):
        with pytest.raises(TypeError):
            encode(value)
        server = KernelServer({})
        assert wire(value, server._register)["t"] == "ref"
