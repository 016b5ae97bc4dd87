"""Switchboard's evaluation suite: a labelled dataset, a runner, reports and a CI gate.

Run with: switchboard eval   (or: python -m evals)
"""
