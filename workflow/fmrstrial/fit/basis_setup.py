"""Fit components on the data's time grid: basis metabolites plus macromolecules.

`prepare_basis` checks that a basis set fits the data (field within 1 %, echo time within
5 ms when both are known, every configured metabolite present), resamples the metabolites to
the data's dwell time, length and spectrometer frequency (band-limited, receiver centre
4.65 ppm as in `fmrstrial.spectra`), adds the parameterised macromolecule/lipid Gaussians of
`fmrstrial.macromolecules` (and LCModel's -CrCH2 correction, in the metabolite group) and
assigns every component to a lineshape group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError
from ..io.basis import Basis
from ..macromolecules import CRCH2, LIPIDS, MACROMOLECULES, component_fids
from ..spectra import PPM_CENTRE_1H

#: Maximum relative difference between basis and data spectrometer frequencies.
MAX_FIELD_MISMATCH = 0.01
#: Maximum echo-time difference between basis and data, ms.
MAX_TE_MISMATCH_MS = 5.0
#: Names of the two default lineshape groups.
METABOLITE_GROUP = "metabolites"
MM_GROUP = "macromolecules"
#: Lineshape groups of the singlets (setting `singlet_groups`): each its own small shift and
#: widths, as LCModel fits a shift per metabolite (prior SD 0.004 ppm).
SINGLET_GROUPS = {"NAA": ["NAA", "NAAG"], "Cr": ["Cr", "PCr", CRCH2], "Cho": ["GPC", "PCh"]}


@dataclass
class FitBasis:
    """Components of the linear-combination model on the data grid.

    names: component names (metabolites first, then macromolecules/lipids), length K;
    fids: complex, shape (n_points, K), internal FID convention, centre 4.65 ppm;
    kinds: 'metabolite' or 'macromolecule' per component;
    groups: lineshape group names, groups[0] is the metabolite group;
    group_of: int array (K,), index into `groups` per component;
    dwell_s (s), cf_mhz (MHz); source: basis file; mm_unit: amplitude of one proton at
    unit concentration in the basis units (scale of the macromolecule components).
    """

    names: list[str]
    fids: np.ndarray
    kinds: list[str]
    groups: list[str]
    group_of: np.ndarray
    dwell_s: float
    cf_mhz: float
    source: str = ""
    mm_unit: float = 1.0

    @property
    def n_points(self) -> int:
        return self.fids.shape[0]

    def index(self, name: str) -> int:
        return self.names.index(name)

    def without(self, names: list[str]) -> FitBasis:
        """The same components except `names`; lineshape groups left empty are dropped."""
        keep = [i for i, n in enumerate(self.names) if n not in names]
        used = sorted({int(self.group_of[i]) for i in keep})
        remap = {old: new for new, old in enumerate(used)}
        return replace(
            self,
            names=[self.names[i] for i in keep],
            fids=self.fids[:, keep],
            kinds=[self.kinds[i] for i in keep],
            groups=[self.groups[g] for g in used],
            group_of=np.array([remap[int(self.group_of[i])] for i in keep], dtype=int),
        )


def proton_unit(basis: Basis) -> float:
    """Amplitude of one proton at unit concentration in the units of `basis`.

    As the demo simulator defines it: |FID| of creatine at the second sample over its 5
    protons (PCr if Cr is absent); without either, the largest second-sample |FID| over 3.
    """
    for name in ("Cr", "PCr"):
        if name in basis.names:
            return float(np.abs(basis.fid(name)[1])) / 5.0
    return float(np.abs(basis.fids[1]).max()) / 3.0


def metabolite_components(settings: dict) -> list[str]:
    """Components of the metabolite lineshape group: the basis metabolites, then -CrCH2."""
    return list(settings["metabolites"]) + ([CRCH2] if settings["crch2_correction"] else [])


def component_names(settings: dict) -> list[str]:
    """All fitted components in the order `prepare_basis` gives them."""
    return (
        metabolite_components(settings)
        + list(settings["measured_mm"])
        + list(settings["macromolecules"])
        + list(settings["lipids"])
    )


def check_compatible(
    basis: Basis,
    cf_mhz: float,
    te_ms: float | None,
    settings: dict,
    data_file: str = "<data>",
) -> None:
    """InputError naming both files if the basis does not suit the data or the settings."""
    where = f"{data_file} (basis {basis.source or '<basis>'})"
    ratio = cf_mhz / basis.cf_mhz
    if abs(ratio - 1.0) > MAX_FIELD_MISMATCH:
        raise InputError(
            f"field mismatch: data at {cf_mhz:.3f} MHz but basis at {basis.cf_mhz:.3f} MHz "
            f"({100 * abs(ratio - 1):.1f} % apart, at most {100 * MAX_FIELD_MISMATCH:.0f} % "
            "allowed); use a basis set simulated for this field",
            file=where,
        )
    if te_ms is not None and basis.echo_time_ms is not None:
        if abs(te_ms - basis.echo_time_ms) > MAX_TE_MISMATCH_MS:
            raise InputError(
                f"echo-time mismatch: data TE {te_ms:g} ms but basis ECHOT "
                f"{basis.echo_time_ms:g} ms (more than {MAX_TE_MISMATCH_MS:g} ms apart)",
                file=where,
            )
    wanted = list(settings["metabolites"]) + list(settings["measured_mm"])
    missing = [m for m in wanted if m not in basis.names]
    if missing:
        raise InputError(
            f"metabolite(s) {', '.join(missing)} named in the fit settings are not in the basis "
            f"set (it has {', '.join(basis.names)})",
            file=basis.source or "<basis>",
        )
    unknown = [m for m in settings["macromolecules"] if m not in MACROMOLECULES]
    unknown += [m for m in settings["lipids"] if m not in LIPIDS]
    if unknown:
        raise InputError(
            f"unknown macromolecule/lipid component(s) {', '.join(unknown)} in the fit "
            f"settings (known: {', '.join(MACROMOLECULES + LIPIDS)})",
            file=data_file,
        )


def prepare_basis(
    basis: Basis,
    n_points: int,
    dwell_s: float,
    cf_mhz: float,
    settings: dict,
    te_ms: float | None = None,
    data_file: str = "<data>",
) -> FitBasis:
    """The fit components for data with `n_points` samples at `dwell_s` (s) and `cf_mhz`."""
    check_compatible(basis, cf_mhz, te_ms, settings, data_file)
    mets = list(settings["metabolites"])
    measured = list(settings["measured_mm"])
    grid = (
        basis.subset(mets + measured)
        .rereferenced(PPM_CENTRE_1H)
        .resampled(dwell_s, n_points, cf_mhz)
    )
    simulated = [n for n in component_names(settings) if n not in mets + measured]
    columns = dict(zip(mets + measured, grid.fids.T, strict=True))
    unit = proton_unit(basis)
    sim_fids = component_fids(simulated, n_points, dwell_s, cf_mhz, PPM_CENTRE_1H, unit)
    columns.update(zip(simulated, sim_fids.T, strict=True))
    names = component_names(settings)  # the one place that fixes the order
    fids = np.stack([columns[n] for n in names], axis=1)
    in_metabolite_group = set(metabolite_components(settings))
    kinds = ["metabolite" if n in in_metabolite_group else "macromolecule" for n in names]

    groups = [METABOLITE_GROUP]
    if "macromolecule" in kinds:
        groups.append(MM_GROUP)
    group_of = np.array([0 if k == "metabolite" else 1 for k in kinds], dtype=int)
    for gname, members in settings["groups"].items():
        absent = [m for m in members if m not in names]
        if absent:
            raise InputError(
                f"fit setting 'groups.{gname}' names component(s) not being fitted: "
                f"{', '.join(absent)}",
                file=data_file,
            )
    # the singlet groups keep only their fitted members; the user's groups come after them
    singlets = SINGLET_GROUPS.items() if settings["singlet_groups"] else []
    extra = [(g, [m for m in ms if m in names]) for g, ms in singlets]
    for gname, members in [*extra, *settings["groups"].items()]:
        if not members:
            continue
        if gname not in groups:
            groups.append(gname)
        for m in members:
            group_of[names.index(m)] = groups.index(gname)
    used = sorted(set(group_of.tolist()))
    if used != list(range(len(groups))):  # drop groups emptied by the user's groups
        remap = {old: new for new, old in enumerate(used)}
        groups = [groups[i] for i in used]
        group_of = np.array([remap[g] for g in group_of], dtype=int)
    return FitBasis(
        names=names,
        fids=fids,
        kinds=kinds,
        groups=groups,
        group_of=group_of,
        dwell_s=dwell_s,
        cf_mhz=cf_mhz,
        source=basis.source,
        mm_unit=unit,
    )
