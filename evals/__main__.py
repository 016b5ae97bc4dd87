"""Run the evaluation suite.

Run with: python -m evals [--quick]   (same as: switchboard eval)
"""

from evals.runner import main

raise SystemExit(main())
