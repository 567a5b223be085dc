"""Capture every batch-norm layer of a torch model during one training step, as bnfile files.

    from bnfile_capture import capture

    with capture(model, "captures/"):
        loss = loss_fn(model(x), y)
        loss.backward()

The forward pass and the backward pass both go inside the `with` block: the inputs and
running statistics exist only during the forward pass, the upstream gradient only during
the backward pass. On leaving the block (without an exception) it writes, for every call
of every `torch.nn.modules.batchnorm._BatchNorm` module (BatchNorm1d/2d/3d, their lazy and
synchronized variants and subclasses):

- `DIR/<module path>.npz`, the call's input in bnfile's schema: x and dout, gamma and beta
  (if affine), running_mean and running_var before the call (if the call used them), and
  the settings torch used as 0-d arrays: eps, momentum (torch convention), training,
  momentum_convention "torch", running_var_convention "unbiased", layout "nchw";
- `DIR/<module path>.torch.npz`, torch's results for that call: out, dx, dgamma, dbeta,
  and running_mean and running_var after the call.

`<module path>` is the module's name in `model.named_modules()` ("layer1.0.bn1"); the
model itself, if it is a batch-norm module, is named after its class. A module called k
times in the block gives k records: the first under its plain name, the others as
`<module path>.call2`, `.call3`, ... Each file is written to a temporary name in DIR and
renamed, so no partial file is left behind; files of the same name are replaced.

What each record means, and how it is obtained:

- **Per-call gradients.** dx, dgamma and dbeta are the gradients that torch's own
  batch-norm backward node (NativeBatchNormBackward0) produced for this call, read with a
  hook on that node (`Node.register_hook`), which sees the node's inputs' gradients
  before autograd adds them into `.grad`. So they are torch's kernel results for this
  call alone: a module called twice gets each call's share, not the accumulated
  `weight.grad`, and gradients left over from an earlier step cannot leak in. dout is the
  gradient the node received for its output.
- **Inputs before the step.** x, gamma, beta and the running statistics are copied in a
  forward pre-hook, and out in a forward hook, before anything after the layer runs: an
  in-place activation (ReLU(inplace=True)) or an optimizer step later in the block
  cannot change them.
- **Settings.** They mirror `_BatchNorm.forward`. `training` is True whenever torch
  normalised with batch statistics: in training mode, and also in eval mode for a module
  without running statistics (track_running_stats=False), which torch then treats as
  training. The running statistics are recorded only when the call passed them to the
  kernel. `momentum` is the factor torch used: the module's momentum, or for
  momentum=None (a cumulative average) 1/num_batches_tracked after this call's
  increment, so that `new = (1-m)*old + m*batch` holds; it is 0 for momentum=None when no
  update happens.
- **Layout.** channels_last (and channels_last_3d) is a memory format: the tensor's
  logical shape stays N,C,H,W. Files hold the logical tensor (`.contiguous()`, channel
  axis 1, layout "nchw"), whatever the memory format was. The values, and so bnfile's
  verdict, do not depend on memory order; torch's results on channels_last are those of
  its channels-last kernel.
- **Dtypes** are kept as torch produced them: a float16 module gives float16 files; a
  float16 input to a float32 module gives float16 x, dout, out and dx with float32
  gamma, beta, dgamma and dbeta. bfloat16 tensors (torch's CPU autocast) are saved as
  their raw bits, dtype '<V2' as ml_dtypes writes them, and declared in the file's
  1-d string member `bfloat16`, so bnfile reads them without flags.
- **Without gradients.** A call whose input needs no gradient gets no dx (dout, dgamma and
  dbeta are still recorded). A call that no backward reached (no_grad, or the loss did
  not depend on it) gets a forward-only record, without dout, dx, dgamma or dbeta, and a
  warning. A node reached by more than one backward keeps the first and warns.

It warns (warnings.warn) on entry when any parameter of the model already has a non-zero
gradient: the records do not depend on it, but `weight.grad` after the step is then not
this step's gradient, which misleads any check that reads it.
"""

import os
import tempfile
import warnings

import numpy as np
import torch
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["capture"]


class _Unsupported(Exception):
    """A tensor that numpy cannot hold faithfully."""


def _to_numpy(t):
    """A copy of tensor t as a numpy array in the same dtype, logical (C-contiguous) order.

    numpy has no bfloat16, so a bfloat16 tensor is saved as its raw bits, two-byte items
    of dtype '<V2' (what ml_dtypes writes), and `_save_atomically` declares it in the
    file's `bfloat16` member, which bnfile reads without flags and which leaves
    `np.load(f)[key].view(ml_dtypes.bfloat16)` working for numpy users.
    """
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().copy().view(np.dtype("<V2"))
    return t.numpy().copy()


def _uses_running_stats(m):
    """Whether `_BatchNorm.forward` passes the running statistics to the kernel."""
    has = m.running_mean is not None and m.running_var is not None
    return has and (not m.training or m.track_running_stats)


def _normalises_with_batch_stats(m):
    """torch's `bn_training`: batch statistics in training, and in eval without buffers."""
    return m.training or (m.running_mean is None and m.running_var is None)


def _momentum_used(m):
    """The exponential_average_factor `_BatchNorm.forward` computed (read after the call)."""
    updates = m.training and m.track_running_stats and m.num_batches_tracked is not None
    if m.momentum is None:
        return 1.0 / float(m.num_batches_tracked) if updates else 0.0
    return float(m.momentum)


class _Call:
    """One call of one module: its input record, torch's results, and the backward's count."""

    def __init__(self, module, x):
        self.inputs = {"x": _to_numpy(x)}
        if module.affine:
            self.inputs["gamma"] = _to_numpy(module.weight)
            self.inputs["beta"] = _to_numpy(module.bias)
        self.tracks = _uses_running_stats(module)
        if self.tracks:
            self.inputs["running_mean"] = _to_numpy(module.running_mean)
            self.inputs["running_var"] = _to_numpy(module.running_var)
        self.training = _normalises_with_batch_stats(module)
        self.eps = float(module.eps)
        self.results = {}
        self.backward_count = 0

    def finish_forward(self, module, out):
        """Record out and the running statistics after the call (before anything else runs)."""
        self.results["out"] = _to_numpy(out)
        if self.tracks:
            self.results["running_mean"] = _to_numpy(module.running_mean)
            self.results["running_var"] = _to_numpy(module.running_var)
        self.momentum = _momentum_used(module)

    def record_backward(self, grad_inputs, grad_outputs):
        """Node hook: (dx, dgamma, dbeta) as torch's batch-norm backward produced them."""
        self.backward_count += 1
        if self.backward_count > 1:
            return
        if grad_outputs[0] is not None:
            self.inputs["dout"] = _to_numpy(grad_outputs[0])
        for key, g in zip(("dx", "dgamma", "dbeta"), grad_inputs):
            if g is not None:
                self.results[key] = _to_numpy(g)

    def input_file(self):
        """The input arrays and the settings as 0-d arrays, in bnfile's schema."""
        d = dict(self.inputs)
        d.update(eps=np.float64(self.eps), momentum=np.float64(self.momentum),
                 momentum_convention=np.array("torch"), running_var_convention=np.array("unbiased"),
                 training=np.array(self.training), layout=np.array("nchw"))
        return d


def _save_atomically(path, arrays):
    """np.savez to a temporary file in path's folder, then rename it to path."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".bnfile-capture-", suffix=".tmp", dir=folder)
    declared = [k for k, v in arrays.items() if v.dtype == np.dtype("<V2")]
    if declared:
        arrays = dict(arrays, bfloat16=np.array(declared))
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _file_stem(name, index):
    """`<module path>` for the first call, `<module path>.callK` for call K > 1."""
    stem = name.replace(os.sep, "_")
    return stem if index == 1 else f"{stem}.call{index}"


class capture:
    """Context manager: record every batch-norm call in `model` and write bnfile files to `directory`.

    After the block, `paths` lists the files written (input file, then torch's results,
    per call) and `calls` maps each module path to its list of recorded calls.
    """

    def __init__(self, model, directory):
        self.model = model
        self.directory = os.fspath(directory)
        self.calls = {}
        self.paths = []
        self._handles = []

    def __enter__(self):
        self._warn_on_stale_grads()
        for name, module in self.model.named_modules():
            if isinstance(module, _BatchNorm):
                self._attach(name or type(module).__name__, module)
        return self

    def __exit__(self, exc_type, exc, tb):
        for h in self._handles:
            h.remove()
        self._handles = []
        if exc_type is None:
            self._write()
        return False

    def _warn_on_stale_grads(self):
        stale = [n for n, p in self.model.named_parameters()
                 if p.grad is not None and bool(p.grad.detach().count_nonzero())]
        if stale:
            shown = ", ".join(stale[:5]) + (", ..." if len(stale) > 5 else "")
            warnings.warn(f"bnfile_capture: {len(stale)} parameter(s) already have non-zero gradients "
                          f"({shown}); the records hold this step's per-call gradients, but .grad after "
                          "the step accumulates; call zero_grad() before the step", stacklevel=3)

    def _attach(self, name, module):
        calls = self.calls.setdefault(name, [])
        pending = []

        def before(m, args):
            pending.clear()
            try:
                pending.append(_Call(m, args[0]))
            except _Unsupported as e:
                warnings.warn(f"bnfile_capture: {name}: {e} tensors are not captured; call skipped",
                              stacklevel=2)

        def after(m, args, out):
            if not pending or not torch.is_tensor(out):
                return
            call = pending.pop()
            call.finish_forward(m, out)
            calls.append(call)
            node = out.grad_fn
            if node is not None and "BatchNorm" in type(node).__name__:
                node.register_hook(call.record_backward)
            elif node is not None:
                warnings.warn(f"bnfile_capture: {name}: output comes from {type(node).__name__}, "
                              "not torch's batch-norm node; gradients not captured", stacklevel=2)

        self._handles.append(module.register_forward_pre_hook(before))
        self._handles.append(module.register_forward_hook(after))

    def _write(self):
        os.makedirs(self.directory, exist_ok=True)
        for name, calls in self.calls.items():
            for index, call in enumerate(calls, start=1):
                self._warn_on_backward(name, index, call)
                stem = os.path.join(self.directory, _file_stem(name, index))
                _save_atomically(stem + ".npz", call.input_file())
                _save_atomically(stem + ".torch.npz", call.results)
                self.paths += [stem + ".npz", stem + ".torch.npz"]

    @staticmethod
    def _warn_on_backward(name, index, call):
        label = name if index == 1 else f"{name} (call {index})"
        if call.backward_count == 0:
            warnings.warn(f"bnfile_capture: {label}: no backward reached this call; "
                          "forward-only record (no dout, dx, dgamma, dbeta)", stacklevel=3)
        elif call.backward_count > 1:
            warnings.warn(f"bnfile_capture: {label}: {call.backward_count} backward passes reached this "
                          "call; the first one's gradients are recorded", stacklevel=3)
