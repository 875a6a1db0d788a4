"""Accuracy on multiple-choice benchmarks: reading which choice a free-text answer picked."""
