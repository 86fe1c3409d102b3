"""Device and precision policy of the engine.

Pricing runs in ``pricing_dtype`` (float64 by default on CPU; float32 selectable, and the
default on a GPU), every aggregate (segment and portfolio totals, P&L) is accumulated in
``aggregate_dtype`` (float64), and scenario *generation* (the translator) may use bfloat16 or
float16 on CUDA only: half precision on CPU is slow and has no place in pricing.
Nothing here needs CUDA: ``resolve_device("auto")`` falls back to the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DTYPES", "PrecisionPolicy", "resolve_device"]

DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "fp64": torch.float64,
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}
_HALF = (torch.bfloat16, torch.float16)


def _dtype(value: str | torch.dtype) -> torch.dtype:
    if isinstance(value, torch.dtype):
        return value
    try:
        return DTYPES[str(value).lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {value!r}; expected one of {sorted(DTYPES)}") from None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when ``torch.cuda.is_available()``, else CPU; ``"cuda"`` without CUDA is an error."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch.cuda.is_available() is False; use 'auto' or 'cpu'")
    if name == "cpu" or name.startswith("cuda"):
        return torch.device(name)
    raise ValueError(f"unknown device {device!r}; expected 'auto', 'cpu' or 'cuda'")


@dataclass(frozen=True)
class PrecisionPolicy:
    """Which dtype each stage uses.

    Attributes
    ----------
    pricing_dtype
        Kernels (discount factors, cash-flow products, Black-Scholes): float64 or float32.
    aggregate_dtype
        Totals and P&L: float64 (always; a float32 total of a million positions loses cents).
    generation_dtype
        Scenario generation: float32, or bfloat16/float16 on CUDA only.
    """

    pricing_dtype: torch.dtype = torch.float64
    aggregate_dtype: torch.dtype = torch.float64
    generation_dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        for name in ("pricing_dtype", "aggregate_dtype", "generation_dtype"):
            object.__setattr__(self, name, _dtype(getattr(self, name)))
        if self.pricing_dtype not in (torch.float64, torch.float32):
            raise ValueError(f"pricing_dtype must be float64 or float32, not {self.pricing_dtype}")
        if self.aggregate_dtype != torch.float64:
            raise ValueError("aggregate_dtype must be float64")
        if self.generation_dtype not in (torch.float64, torch.float32, *_HALF):
            raise ValueError(f"unsupported generation_dtype {self.generation_dtype}")

    @classmethod
    def default_for(cls, device: str | torch.device = "auto") -> PrecisionPolicy:
        """float64 pricing on CPU; float32 pricing and bfloat16 generation on CUDA."""
        dev = resolve_device(device)
        if dev.type == "cuda":
            return cls(torch.float32, torch.float64, torch.bfloat16)
        return cls()

    @classmethod
    def from_names(cls, pricing: str = "float64", generation: str = "float32") -> PrecisionPolicy:
        return cls(_dtype(pricing), torch.float64, _dtype(generation))

    def check_device(self, device: torch.device) -> None:
        """Refuse half-precision generation on a device without CUDA."""
        if self.generation_dtype in _HALF and device.type != "cuda":
            raise ValueError(
                f"generation_dtype {self.generation_dtype} needs CUDA; on {device.type} use float32"
            )

    @property
    def name(self) -> str:
        return str(self.pricing_dtype).replace("torch.", "")
