"""DTSEN assembly: one register of persons and families from several source registers.

DTSEN is built by matching ("pemadanan") DTKS and P3KE against Regsosek and then
verifying ("verval") village by village. This package turns standardised source
registers into that register:

- :mod:`~bansos_linkage.assembly.persons`: within-source duplicates and pairwise
  person links, clustered into DTSEN persons (at most one record, or one declared
  duplicate group, per source per person; transitive conflicts resolved by the rule
  documented there);
- :mod:`~bansos_linkage.assembly.families`: source families (KK or household id)
  linked as groups, with the statuses verval needs;
- :mod:`~bansos_linkage.assembly.register`: the value chosen for each field of each
  person and family, its source, and the conflicts between sources;
- :mod:`~bansos_linkage.assembly.transitions`: which DTKS families stay, drop out
  (and why) and join, per village, with counts by programme;
- :mod:`~bansos_linkage.assembly.worklists`: verval workbooks per village and the
  import of the verifiers' decisions;
- :mod:`~bansos_linkage.assembly.update`: a later export applied to an assembled
  register, ids kept, only what is new or changed linked.

Tables (all keyed by ids, one row per entity):

``records``
    One row per standardised input record: ``source``, ``record_id``, ``person_id``,
    ``family_id`` (the DTSEN family of its person), ``source_family`` (its family key
    in its own source, :func:`bansos_linkage.linkage.households.family_key`), ``duplicate_of``
    (the record id of its group's representative when the record is a declared
    duplicate within its source, else null), ``link_probability`` (probability of the
    strongest link that joined it to its person; null for a person of one record).
``persons``
    One row per DTSEN person: ``person_id`` (``P`` + 10 digits), ``family_id``,
    ``sources`` (``"dtks+regsosek"``, sources in priority order), ``n_records``,
    ``weakest_link`` (the lowest link probability inside the person; 1.0 for one
    record), then for each register field the chosen value and ``<field>_source``.
``families``
    One row per DTSEN family: ``family_id`` (``F`` + 10 digits), ``village_code``,
    ``village_name``, ``district_code``, ``regency_code``, ``province_code``,
    ``region_scheme``, ``n_persons``, ``sources``.
``family_links``
    One row per source family: ``source``, ``source_family``, ``family_id`` (the DTSEN
    family most of its members are in), ``status``, ``members``, ``found``, and where the
    family lived by its own records (``province_code`` .. ``village_code``,
    ``village_name``, in the DTSEN families' code scheme where a crosswalk was learned).
``conflicts``
    One row per problem to resolve: ``kind``, ``person_id``, ``family_id``, ``field``,
    ``detail``, ``record_ids``.
"""

from bansos_linkage.assembly.accuracy import assembly_accuracy, cluster_pair_metrics
from bansos_linkage.assembly.build import Assembly, assemble, source_order
from bansos_linkage.assembly.families import link_families
from bansos_linkage.assembly.files import (
    Source,
    assemble_files,
    import_worklists,
    parse_source,
    read_assembly,
    write_assembly,
)
from bansos_linkage.assembly.persons import PersonLinks, link_persons
from bansos_linkage.assembly.update import update_assembly, update_files

__all__ = [
    "Assembly",
    "PersonLinks",
    "Source",
    "assemble",
    "assemble_files",
    "assembly_accuracy",
    "cluster_pair_metrics",
    "import_worklists",
    "link_families",
    "link_persons",
    "parse_source",
    "read_assembly",
    "source_order",
    "update_assembly",
    "update_files",
    "write_assembly",
]
