"""The linkage stages, in the order records flow through them.

========================  ===========================================================
module                    stage
========================  ===========================================================
``encoding``              text columns as integer codes over shared vocabularies
``blocking``              candidate pairs (exact keys, sorted neighbourhoods)
``comparisons``           agreement levels of a pair, comparison by comparison
``similarity``            the string similarities the comparisons read (rapidfuzz)
``training``              u from random pairs, m by EM sessions, the prior
``fellegi_sunter``        the Fellegi-Sunter matcher (EM on pattern counts)
``ml_matcher``            the supervised matcher (scikit-learn) trained on reviewed pairs
``resolve``               one-to-one links, duplicates sharing a counterpart
``households``            households linked through their members
``explain``               why a pair scored what it did
``settings``              a Linker's configuration as a dict / YAML / JSON file
``model_file``            a fitted Linker saved and loaded
``linker``                :class:`Linker`, the facade that runs the stages
========================  ===========================================================

Nothing is imported here, so that a stage module loads without the others (the
Linker needs scikit-learn, which takes a second to import): import from the module,
or ``from bansos_linkage import Linker``.
"""
