"""isacopt: global optimization and parameter studies for networked ISAC.

The repository root is the package; see README.md for the layout and ../DESIGN for the data flow
scenario -> model -> algorithm -> result -> study.
"""
__version__ = "0.1.0"
