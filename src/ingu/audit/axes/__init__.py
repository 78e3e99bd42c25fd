"""The six IAF axes (paper §4.1, §6): each compares one joint of the dataset with its reference."""
