"""Cohorts: whole files of patients through one KB (`clonus batch`), on worker processes or on Dask, and
the same cohort through two KB versions (`clonus diff --cases`). Pure data in and out: cli/ prints."""
