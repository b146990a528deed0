"""Mutation check for the cross sections and rate conversions (issue 8, section 5).

Each mutation changes one factor of one equation (a factor 2, a wrong sign of an operation) in a
*copy* of ``src/nufog`` and runs the unit test files that should notice, with the copy first on
``PYTHONPATH``. The working tree is never modified. A mutation is *caught* when pytest fails.

Usage (from the repository root; not collected by pytest)::

    NUFOG_DATA_MIRROR=/work/shared/data python tools/mutation_check.py            # all mutations
    python tools/mutation_check.py --only scalar_4pi helm_exponent                 # a subset
    python tools/mutation_check.py --exclude-tests tests/unit/test_cross_sections.py  # "before"

Exit status 1 when a mutation survives.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# the new file first: with -x a caught mutation stops at its first failure
NEW = "tests/unit/test_cross_sections.py"
CEVNS = (NEW, "tests/unit/test_cevns.py")
MEDIATORS = (NEW, "tests/unit/test_limits.py")
ELECTRON = (NEW, "tests/unit/test_electron.py")
LEPTO = (NEW, "tests/unit/test_limits.py")
QUENCH = (NEW, "tests/unit/test_migdal.py", "tests/unit/test_limits.py")
FOLD = (NEW, "tests/unit/test_limits.py")


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    file: str  # relative to src/nufog
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "scalar_4pi",
        "scalar CEvNS: 1/(4 pi) -> 1/(2 pi)",
        "mediators.py",
        "xs_over_flux = q_phi**2 * mass**2 * e_r * kernel.ff2[i] / (4.0 * np.pi)",
        "xs_over_flux = q_phi**2 * mass**2 * e_r * kernel.ff2[i] / (2.0 * np.pi)",
        MEDIATORS,
    ),
    Mutation(
        "scalar_charge_gluon",
        "scalar charge: heavy-quark (2/27) f_TG -> (4/27) f_TG",
        "mediators.py",
        "gluon = m_nuc * 2.0 / 27.0 * f_tg * sum(",
        "gluon = m_nuc * 4.0 / 27.0 * f_tg * sum(",
        MEDIATORS,
    ),
    Mutation(
        "cevns_GF2_dsigma",
        "CEvNS dsigma_dER: G_F^2 -> 2 G_F^2",
        "cevns.py",
        "xs = u.G_F**2 * mass_MeV / np.pi",
        "xs = 2.0 * u.G_F**2 * mass_MeV / np.pi",
        CEVNS,
    ),
    Mutation(
        "cevns_GF2_kernel",
        "CEvNS RecoilKernel rate: G_F^2 -> 2 G_F^2",
        "cevns.py",
        "xs = u.G_F**2 * m / np.pi",
        "xs = 2.0 * u.G_F**2 * m / np.pi",
        CEVNS,
    ),
    Mutation(
        "kin_dsigma",
        "CEvNS dsigma_dER: (1 - M E_R/(2 E^2)) -> (1 - M E_R/E^2)",
        "cevns.py",
        "kin = 1.0 - mass_MeV * e_r / (2.0 * e_nu**2)",
        "kin = 1.0 - mass_MeV * e_r / (e_nu**2)",
        CEVNS,
    ),
    Mutation(
        "kin_kernel",
        "CEvNS RecoilKernel: (1 - M E_R/(2 E^2)) -> (1 - M E_R/E^2)",
        "cevns.py",
        "flux_term = self.m0 - m * self.e_r_MeV / 2.0 * self.m2",
        "flux_term = self.m0 - m * self.e_r_MeV * self.m2",
        CEVNS,
    ),
    Mutation(
        "kernel_norm",
        "RecoilKernel per-t-yr normalisation x 2",
        "cevns.py",
        "norm = target.nuclei_per_tonne() * u.SECONDS_PER_YEAR * u.keV",
        "norm = 2.0 * target.nuclei_per_tonne() * u.SECONDS_PER_YEAR * u.keV",
        CEVNS,
    ),
    Mutation(
        "helm_exponent",
        "Helm form factor: exp(-(q s)^2/2) -> exp(-(q s)^2)",
        "nuclei.py",
        "np.exp(-((q * s) ** 2) / 2.0)",
        "np.exp(-((q * s) ** 2))",
        CEVNS,
    ),
    Mutation(
        "vector_3A",
        "vector charge shift: 3 A -> 6 A",
        "mediators.py",
        "return 3.0 * A / (np.sqrt(2.0) * u.G_F",
        "return 6.0 * A / (np.sqrt(2.0) * u.G_F",
        MEDIATORS,
    ),
    Mutation(
        "vector_interference",
        "vector interference: 2 Q_V dQ -> Q_V dQ",
        "mediators.py",
        "lin += 2.0 * q_sm[i] * dq * unit_rate[i]",
        "lin += 1.0 * q_sm[i] * dq * unit_rate[i]",
        MEDIATORS,
    ),
    Mutation(
        "lepto_me2",
        "leptophilic scalar: m_e^2 -> 2 m_e^2",
        "mediators.py",
        "xs_over_flux = u.M_E**2 * t / (4.0 * np.pi)",
        "xs_over_flux = 2.0 * u.M_E**2 * t / (4.0 * np.pi)",
        LEPTO,
    ),
    Mutation(
        "lepto_norm",
        "ElectronKernel per-t-yr normalisation x 2",
        "mediators.py",
        "atoms_per_tonne * u.SECONDS_PER_YEAR * u.keV)",
        "2.0 * atoms_per_tonne * u.SECONDS_PER_YEAR * u.keV)",
        LEPTO,
    ),
    Mutation(
        "nue_2pi",
        "nu-e free: G_F^2 m_e/(2 pi) -> G_F^2 m_e/pi",
        "electron.py",
        "u.G_F**2 * u.M_E / (2.0 * np.pi) * u.MEV2_TO_CM2",
        "u.G_F**2 * u.M_E / (1.0 * np.pi) * u.MEV2_TO_CM2",
        ELECTRON,
    ),
    Mutation(
        "nue_norm",
        "nu-e rate per-t-yr normalisation x 2",
        "electron.py",
        "scale = targets_per_tonne * effective_electrons(T, shells)",
        "scale = 2.0 * targets_per_tonne * effective_electrons(T, shells)",
        ELECTRON,
    ),
    Mutation(
        "jacobian_multiply",
        "Quenching.spectrum_to_ee: divide by dE_ee/dE_nr -> multiply",
        "quenching.py",
        "return np.exp(log_rate) / self.jacobian(e_nr)",
        "return np.exp(log_rate) * self.jacobian(e_nr)",
        QUENCH,
    ),
    Mutation(
        "jacobian_constant_x2",
        "Quenching.jacobian (constant): q_nr -> 2 q_nr",
        "quenching.py",
        "return np.full_like(e, self.q_nr)\n        h = 1e-4 * e",
        "return np.full_like(e, 2.0 * self.q_nr)\n        h = 1e-4 * e",
        QUENCH,
    ),
    Mutation(
        "jacobian_lindhard_x2",
        "Quenching.jacobian (Lindhard): central difference / (2 h) -> / h",
        "quenching.py",
        "return (self.to_ee(e + h) - self.to_ee(e - h)) / (2.0 * h)",
        "return (self.to_ee(e + h) - self.to_ee(e - h)) / h",
        QUENCH,
    ),
    Mutation(
        "fold_x2",
        "experiments.fold: exposure * trapezoid -> 2 exposure * trapezoid",
        "experiments.py",
        "return exposure_t_yr * np.trapezoid(",
        "return 2.0 * exposure_t_yr * np.trapezoid(",
        FOLD,
    ),
    Mutation(
        "flux_trapezoid_half",
        "solar tail_moments trapezoid: 0.5 (f_i + f_i+1) -> (f_i + f_i+1)",
        "solar.py",
        "seg = 0.5 * (f[1:] + f[:-1]) * np.diff(fine_e)",
        "seg = 1.0 * (f[1:] + f[:-1]) * np.diff(fine_e)",
        CEVNS + ("tests/unit/test_electron.py",),
    ),
)


def run(mutation: Mutation, exclude: set[str], verbose: bool) -> tuple[bool, str, float]:
    """Apply ``mutation`` to a copy of the package, run its test files; (caught, summary, seconds)."""
    tests = [t for t in mutation.tests if t not in exclude and (ROOT / t).is_file()]
    if not tests:
        return False, "no test files", 0.0
    with tempfile.TemporaryDirectory(prefix="nufog_mut_") as tmp:
        # mirror the repository layout (the package finds workflow/ and Snakefile two levels up):
        # everything but src/ is a symlink, src/nufog is a copy that receives the mutation
        for entry in ROOT.iterdir():
            if entry.name not in ("src", ".git"):
                (Path(tmp) / entry.name).symlink_to(entry)
        pkg = Path(tmp) / "src" / "nufog"
        shutil.copytree(ROOT / "src" / "nufog", pkg, ignore=shutil.ignore_patterns("__pycache__"))
        path = pkg / mutation.file
        text = path.read_text()
        if mutation.old == mutation.new:  # the baseline: nothing changed
            pass
        elif text.count(mutation.old) != 1:
            raise SystemExit(f"{mutation.name}: pattern found {text.count(mutation.old)} times in {mutation.file}")
        path.write_text(text.replace(mutation.old, mutation.new))
        env = dict(os.environ, PYTHONPATH=str(Path(tmp) / "src"), PYTHONDONTWRITEBYTECODE="1")
        env.setdefault("NUFOG_DATA_MIRROR", str(ROOT.parent.parent / "shared" / "data"))
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        dt = time.monotonic() - t0
        # the package under test must be the mutated copy, not the editable install
        check = subprocess.run(
            [sys.executable, "-c", "import nufog; print(nufog.__file__)"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if not check.stdout.startswith(tmp):
            raise SystemExit(f"mutated copy not imported: {check.stdout or check.stderr}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    summary = lines[-1] if lines else proc.stderr.strip()[-200:]
    failed = [ln.split(" - ")[0] for ln in lines if ln.startswith("FAILED")]
    if failed:
        summary = f"{summary}; first: {failed[0].removeprefix('FAILED ')}"
    if verbose:
        print(proc.stdout[-3000:])
    # caught = a test *failed*; an error in collection or a fixture is a broken run, not a catch
    if proc.returncode not in (0, 1) or any(ln.startswith("ERROR") for ln in lines):
        raise SystemExit(f"{mutation.name}: pytest did not run cleanly ({summary})\n{proc.stdout[-3000:]}")
    return proc.returncode == 1, summary, dt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="mutation names to run (default: all)")
    parser.add_argument("--exclude-tests", nargs="*", default=[], help="test files to leave out (the 'before' run)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without mutation")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    selected = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list:
        for m in selected:
            print(f"{m.name:24s} {m.description}  [{', '.join(Path(t).name for t in m.tests)}]")
        return 0
    exclude = set(args.exclude_tests)
    survivors = []
    print(f"{'mutation':24s} {'caught':7s} {'time':>6s}  pytest")
    if not args.no_baseline:
        files = tuple(sorted({t for m in selected for t in m.tests}))
        failed, summary, dt = run(Mutation("baseline", "no mutation", "cevns.py", "", "", files), exclude, args.verbose)
        print(f"{'(no mutation)':24s} {'-':7s} {dt:5.0f}s  {summary}", flush=True)
        if failed:
            raise SystemExit("the unmutated tests fail: fix them first")
    for m in selected:
        caught, summary, dt = run(m, exclude, args.verbose)
        print(f"{m.name:24s} {'yes' if caught else 'NO':7s} {dt:5.0f}s  {summary}", flush=True)
        if not caught:
            survivors.append(m.name)
    print(f"\n{len(selected) - len(survivors)}/{len(selected)} mutations caught", end="")
    print(f"; survivors: {', '.join(survivors)}" if survivors else "")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
