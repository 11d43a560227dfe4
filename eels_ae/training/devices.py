"""Choosing the torch device a model trains and runs on."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device="auto") -> torch.device:
    """Turn a ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device
        ``"auto"`` picks the first CUDA device when PyTorch sees one and the
        CPU otherwise.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the string is not a device name, or a CUDA device is asked for on
        a machine where PyTorch sees none (or fewer than ``N + 1``).
    """
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device={device!r} is not a device name: use 'auto', 'cpu', "
            "'cuda' or 'cuda:N'."
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} asks for CUDA, but PyTorch sees no CUDA "
                "device here (CPU-only build or no GPU): use device='auto' or "
                "'cpu'."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"device={device!r}: only {count} CUDA device(s) are visible "
                f"(cuda:0 to cuda:{count - 1})."
            )
    elif dev.type != "cpu":
        raise ValueError(
            f"device={device!r} is not supported: use 'auto', 'cpu', 'cuda' or "
            "'cuda:N'."
        )
    return dev
