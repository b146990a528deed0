"""nufog: constraints on new neutrino forces from dark-matter detector data.

The library holds all physics; the Snakemake workflow only glues it together.
One module per physical concern:

- :mod:`nufog.units`      internal unit system (MeV, cm, s) and constants
- :mod:`nufog.nuclei`     targets, isotopes, nuclear form factors
- :mod:`nufog.solar`      solar neutrino fluxes and the MSW survival probability
- :mod:`nufog.cevns`      coherent elastic neutrino-nucleus scattering
- :mod:`nufog.electron`   neutrino-electron scattering on bound xenon electrons
- :mod:`nufog.migdal`     Migdal ionisation accompanying nuclear recoils
"""

__version__ = "0.1.0"
