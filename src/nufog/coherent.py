"""COHERENT CsI[Na] 2021 analysis (paper appendix, physics.md section 5): one import for the pieces.

The analysis is split by concern:

- :mod:`nufog.coherent_release`: readers of the 2021 release files (:func:`load_release`);
- :mod:`nufog.coherent_response`: quenching, light yield, gamma resolution, energy and timing
  efficiencies;
- :mod:`nufog.coherent_templates`: NSI charges, timing groups, recoil response, time and efficiency
  tables;
- :mod:`nufog.coherent_model`: the immutable binned model in PE x time (:class:`CsIModel`): templates,
  expected counts per component, -2 ln L with its gradient and Hessian;
- :mod:`nufog.coherent_dataset`: COHERENT as a data set of the shared likelihood core (fold artifact);
- :mod:`nufog.coherent_fits`: the SM fit with its profile interval and the NSI point fits on the shared
  core; :mod:`nufog.coherent_nsi`: the NSI map, its valley and the 1-d profiles with their intervals;
- :mod:`nufog.coherent_profile` and :mod:`nufog.coherent_inference`: the exact CsIModel fits and the
  exact light-mediator limits (the cross-check of the core's limits).

:mod:`nufog.sns` is the SNS source. This module re-exports the public names of all of them.
"""

from nufog.coherent_fits import CsICore, NSIFit, nsi_fit, sm_fit, sm_pulls_fit
from nufog.coherent_inference import MediatorLimits, mediator_limit
from nufog.coherent_model import (
    DEFAULT_PE_EDGES,
    DEFAULT_T_EDGES,
    NUISANCES,
    CsIModel,
    model_from_config,
)
from nufog.coherent_nsi import nsi_profile, nsi_scan, nsi_strength, nsi_valley, profile_intervals
from nufog.coherent_profile import BatchFit, FitResult, fit, fit_batch
from nufog.coherent_release import CsIRelease, load_release, read_coefficients, read_events, read_pdf_table
from nufog.coherent_response import CsIResponse, EnergyEfficiency, TimingEfficiency
from nufog.coherent_templates import GROUPS, nsi_charge

__all__ = [
    "DEFAULT_PE_EDGES",
    "DEFAULT_T_EDGES",
    "GROUPS",
    "NUISANCES",
    "BatchFit",
    "CsICore",
    "CsIModel",
    "CsIRelease",
    "CsIResponse",
    "EnergyEfficiency",
    "FitResult",
    "MediatorLimits",
    "NSIFit",
    "TimingEfficiency",
    "fit",
    "fit_batch",
    "load_release",
    "mediator_limit",
    "model_from_config",
    "nsi_charge",
    "nsi_fit",
    "nsi_profile",
    "nsi_scan",
    "nsi_strength",
    "nsi_valley",
    "profile_intervals",
    "read_coefficients",
    "read_events",
    "read_pdf_table",
    "sm_fit",
    "sm_pulls_fit",
]
