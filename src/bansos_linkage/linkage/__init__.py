"""The linkage stages, in the order records flow through them.

========================  ===========================================================
module                    stage
========================  ===========================================================
``preparation``           registers checked, pruned to the columns linking reads, encoded
``encoding``              text columns as integer codes over shared vocabularies
``blocking``              candidate pairs (exact keys, sorted neighbourhoods)
``comparisons``           agreement levels of a pair, comparison by comparison
``similarity``            the string similarities the comparisons read (rapidfuzz)
``scoring``               candidate pairs compared chunk by chunk (``ScoredPairs``)
``frequencies``           term frequencies: rare names agreeing count for more
``training``              u from random pairs, m by EM sessions, the prior
``fellegi_sunter``        the Fellegi-Sunter matcher (EM on pattern counts)
``fitting``               the Fellegi-Sunter model fitted on scored pairs
``ml_matcher``            the supervised matcher (scikit-learn) trained on reviewed pairs
``supervised``            reviewed decisions and the ML matcher in a run
``duplicates``            two records of one register taken for one person
``resolve``               one-to-one links, duplicates sharing a counterpart
``decision``              scored pairs decided into links (family pairs, resolution)
``linking``               a fitted model applied: links and tables, duplicates, pairs by id
``outputs``               ``LinkResult``: links, unlinked records, pairs, summary
``households``            households linked through their members
``explain``               why a pair scored what it did
``inspection``            a fitted Linker's waterfall of one pair and parameter table
``settings``              a Linker's configuration as a dict / YAML / JSON file
``model_file``            a fitted Linker saved and loaded
``persistence``           which of a Linker's state goes where in a model file
``linker``                :class:`Linker`, the facade that runs the stages
``configure``             Linkers from settings files, model files and the defaults
========================  ===========================================================

Nothing is imported here, so that a stage module loads without the others (the
Linker needs scikit-learn, which takes a second to import): import from the module,
or ``from bansos_linkage import Linker``.
"""

__all__: list[str] = []
