"""Eligibility: who is poor enough for which programme, and what each family is owed.

- :mod:`~bansos_linkage.eligibility.members`: household composition from member rows
  (ages at a reference date, children, elderly, disabled, the head's schooling and work);
- :mod:`~bansos_linkage.eligibility.pmt`: the proxy means test, a scikit-learn regressor
  of log per-capita expenditure on household variables, optionally one per region;
- :mod:`~bansos_linkage.eligibility.desil`: desil ranking in groups of equal numbers of
  people, as BPS ranks DTSEN;
- :mod:`~bansos_linkage.eligibility.criteria`: BPS's 14 criteria of a poor household,
  a transparent second scorer.
"""

from bansos_linkage.eligibility.criteria import CRITERIA, bps_criteria
from bansos_linkage.eligibility.desil import desil
from bansos_linkage.eligibility.members import composition
from bansos_linkage.eligibility.pmt import ProxyMeansTest, evaluate_pmt

__all__ = ["CRITERIA", "ProxyMeansTest", "bps_criteria", "composition", "desil", "evaluate_pmt"]
