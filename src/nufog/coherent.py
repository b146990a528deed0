"""COHERENT CsI[Na] 2021 analysis (paper appendix, physics.md section 5): one import for the pieces.

The analysis is split by concern:

- :mod:`nufog.coherent_release`: readers of the 2021 release files (:func:`load_release`);
- :mod:`nufog.coherent_response`: quenching, light yield, gamma resolution, energy and timing
  efficiencies;
- :mod:`nufog.coherent_model`: the immutable binned model in PE x time (:class:`CsIModel`): templates,
  expected counts per component, -2 ln L with its gradient and Hessian;
- :mod:`nufog.coherent_profile`: profiled fits (batched Newton, convergence flags, retries) and the
  root finder;
- :mod:`nufog.coherent_inference`: the SM fit with its profile interval, the NSI scan and profiles,
  the light-mediator limits.

:mod:`nufog.sns` is the SNS source. This module re-exports the public names of all of them.
"""

from nufog.coherent_inference import (
    MediatorLimits,
    mediator_limit,
    nsi_chi2,
    nsi_profile,
    nsi_scan,
    nsi_valley,
    profile_intervals,
    sm_fit,
)
from nufog.coherent_model import (
    DEFAULT_PE_EDGES,
    DEFAULT_T_EDGES,
    GROUPS,
    NUISANCES,
    CsIModel,
    model_from_config,
    nsi_charge,
)
from nufog.coherent_profile import BatchFit, FitResult, fit, fit_batch
from nufog.coherent_release import CsIRelease, load_release, read_coefficients, read_events, read_pdf_table
from nufog.coherent_response import CsIResponse, EnergyEfficiency, TimingEfficiency

__all__ = [
    "DEFAULT_PE_EDGES",
    "DEFAULT_T_EDGES",
    "GROUPS",
    "NUISANCES",
    "BatchFit",
    "CsIModel",
    "CsIRelease",
    "CsIResponse",
    "EnergyEfficiency",
    "FitResult",
    "MediatorLimits",
    "TimingEfficiency",
    "fit",
    "fit_batch",
    "load_release",
    "mediator_limit",
    "model_from_config",
    "nsi_charge",
    "nsi_chi2",
    "nsi_profile",
    "nsi_scan",
    "nsi_valley",
    "profile_intervals",
    "read_coefficients",
    "read_events",
    "read_pdf_table",
    "sm_fit",
]
