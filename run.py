#!/usr/bin/env python
"""isacopt command line: ``python run.py list | solvers | solve PROBLEM ...`` (see README.md)."""
import sys

from isacopt.cli import main

if __name__ == "__main__":
    sys.exit(main())
