"""FHIR R4 to a case: a Bundle (collection, searchset, transaction) or the resources of a CDS Hooks call
(prefetch, draft orders) become the case mapping (patient, medication, response), where each field
came from (provenance) and what the reading noticed (notes). Codes, units and statuses are the KB's
(fhir.yaml, medications.yaml); resources are validated with fhir.resources (R4B models), which is
imported only here, so that case files and `--help` never pay for it.

    resources  Located resources: a Bundle's entries, references between them, the patient
    validate   fhir.resources validation; an invalid element is a CaseError naming its path
    coding     the codes of a CodeableConcept against the KB's code lists
    patient    age from a (partial) birth date as of a date
    dosage     dose, frequency and route from a Dosage
    medication the medication under review and the other medications
    mapping    the whole case: read_bundle(), read_resources(), parse()
    merge      case fields (a case file, flags, a batch row) over a bundle's case, and the provenance
"""
