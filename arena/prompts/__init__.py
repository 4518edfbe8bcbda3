"""Prompt suites: built-in categorized prompts (suites/*.yaml), drawing order, objective checks."""
