"""Figure of a dynamic fit (dynamic.png): Glx/tNAA and Glu/tNAA per block, joint fit against
the block-by-block fit, with CRLB bars (+-1 SD); infusion blocks shaded; the titles give the
infusion - baseline change of each fit with its SE. Agg backend, no
'Software' metadata (byte-identical reruns)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io.atomic import atomic_path  # noqa: E402
from .dynamic import DynamicResult  # noqa: E402
from .dynamic_design import INFUSION, block_contrasts  # noqa: E402
from .dynamic_response import block_values  # noqa: E402

#: Ratios drawn, one panel each (those present in the fit).
RATIOS = ("Glx/tNAA", "Glu/tNAA")


def _series(fits, name):
    vals = np.array([r.ratios[name].value if name in r.ratios else np.nan for _, r in fits])
    sds = np.array([r.ratios[name].sd if name in r.ratios else np.nan for _, r in fits])
    return vals, sds


def _change_text(dyn: DynamicResult, settings: dict | None, phases, name: str) -> str:
    """'infusion - baseline: joint x ± se; block by block y ± se' (SE from the joint
    covariance, and from independent block CRLBs), or '' without baseline/infusion phases."""
    labels = [j for j, _ in dyn.fits]
    contrast = block_contrasts(phases, dyn.temporal.n_blocks, labels).get("infusion-baseline")
    if contrast is None or settings is None:
        return ""
    w = contrast[0]
    vals, grads = block_values(dyn, settings, name)
    g = w @ grads
    text = (
        f"infusion − baseline: joint {w @ vals:+.3f} ± {np.sqrt(max(g @ dyn.cov_gamma @ g, 0)):.3f}"
    )
    if dyn.block_fits:
        v, s = _series(dyn.block_fits, name)
        text += f"; blocks {w @ v:+.3f} ± {np.sqrt(np.sum((w * s) ** 2)):.3f}"
    return text


def plot_dynamic(
    dyn: DynamicResult,
    path: str | os.PathLike,
    phases: list[str] | None = None,
    title: str = "",
    settings: dict | None = None,
) -> None:
    """Write the figure (PNG) to `path`; with `settings` (the resolved fit settings) and
    block phases, each panel's title gives the infusion - baseline change and its SE."""
    shown = [n for n in RATIOS if n in dyn.fits[0][1].ratios]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(5.5 * max(len(shown), 1), 4.0))
    axes = np.atleast_1d(axes)
    blocks = np.array([j for j, _ in dyn.fits])
    for ax, name in zip(axes, shown, strict=False):
        if phases is not None:
            for j, p in zip(blocks, phases, strict=False):
                if p == INFUSION:
                    ax.axvspan(j - 0.5, j + 0.5, color="0.92", lw=0)
        if dyn.block_fits:
            v, s = _series(dyn.block_fits, name)
            ax.errorbar(blocks - 0.1, v, yerr=s, fmt="o", color="0.5", ms=4, capsize=2,
                        label="block by block")  # fmt: skip
        v, s = _series(dyn.fits, name)
        label = f"joint ({dyn.temporal.kind})"
        ax.errorbar(blocks + 0.1, v, yerr=s, fmt="s", color="tab:red", ms=4, capsize=2, label=label)
        ax.set_xlabel("block (shaded: infusion)" if phases is not None else "block")
        ax.set_ylabel(f"{name} (± CRLB)")
        ax.set_xticks(blocks)
        change = _change_text(dyn, settings, phases, name)
        ax.set_title(f"{name}\n{change}" if change else name, fontsize=9)
    axes[0].legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(f"{title}: dynamic vs block-by-block fit", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
