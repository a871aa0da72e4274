//! The offline drafter's own vocabulary: everything it knows that is not in the semantic
//! model. Kept small and written down here, so that a reviewer can read all of it:
//!
//! * US state names and their two-letter codes (states are filtered through the record's
//!   location);
//! * domain words of compliance staff that name a value or a column of the model
//!   ("SAP" → return-to-duty and follow-up tests, "med card" → the current medical card
//!   expiry of the DQ file, "refusal" → a refused test, ...);
//! * words that flip a yes/no column ("non-DOT", "failed", "outside", "incomplete").
//!
//! Time expressions, aggregate words and grouping words are grammar and live in
//! `time.rs` and `plan.rs`.

/// (name, code) of the US states and DC.
pub const STATES: &[(&str, &str)] = &[
    ("alabama", "AL"), ("alaska", "AK"), ("arizona", "AZ"), ("arkansas", "AR"), ("california", "CA"), ("colorado", "CO"),
    ("connecticut", "CT"), ("delaware", "DE"), ("district of columbia", "DC"), ("florida", "FL"), ("georgia", "GA"),
    ("hawaii", "HI"), ("idaho", "ID"), ("illinois", "IL"), ("indiana", "IN"), ("iowa", "IA"), ("kansas", "KS"),
    ("kentucky", "KY"), ("louisiana", "LA"), ("maine", "ME"), ("maryland", "MD"), ("massachusetts", "MA"),
    ("michigan", "MI"), ("minnesota", "MN"), ("mississippi", "MS"), ("missouri", "MO"), ("montana", "MT"),
    ("nebraska", "NE"), ("nevada", "NV"), ("new hampshire", "NH"), ("new jersey", "NJ"), ("new mexico", "NM"),
    ("new york", "NY"), ("north carolina", "NC"), ("north dakota", "ND"), ("ohio", "OH"), ("oklahoma", "OK"),
    ("oregon", "OR"), ("pennsylvania", "PA"), ("rhode island", "RI"), ("south carolina", "SC"), ("south dakota", "SD"),
    ("tennessee", "TN"), ("texas", "TX"), ("utah", "UT"), ("vermont", "VT"), ("virginia", "VA"), ("washington", "WA"),
    ("west virginia", "WV"), ("wisconsin", "WI"), ("wyoming", "WY"),
];

/// State codes that are also common English words, recognised only in upper case
/// (handled by the planner: "in OK" vs "ok").
pub const AMBIGUOUS_CODES: &[&str] = &["IN", "OK", "OR", "ME", "HI", "OH", "ID", "LA", "PA", "MA", "DE", "CO", "AL", "MT"];

/// A domain phrase and what it means in the model.
#[derive(Debug, Clone, Copy)]
pub enum Meaning {
    /// `table.column` takes one of these values (text) or this truth value ("true"/"false").
    Value { table: &'static str, column: &'static str, values: &'static [&'static str] },
    /// The phrase names a column (for measures, grouping and time windows).
    Column { table: &'static str, column: &'static str },
    /// The phrase names a table.
    Table { table: &'static str },
}

use Meaning::{Column as C, Table as T, Value as V};

/// Domain phrases of compliance staff. One phrase may mean several things; the planner
/// keeps what belongs to the table the question is about.
pub const PHRASES: &[(&str, &[Meaning])] = &[
    // Drug and alcohol testing.
    ("drug test", &[T { table: "drug_tests" }, V { table: "drug_tests", column: "test_type", values: &["drug"] }]),
    ("drug screen", &[T { table: "drug_tests" }, V { table: "drug_tests", column: "test_type", values: &["drug"] }]),
    ("ua", &[T { table: "drug_tests" }, V { table: "drug_tests", column: "test_type", values: &["drug"] }]),
    ("alcohol test", &[T { table: "drug_tests" }, V { table: "drug_tests", column: "test_type", values: &["alcohol"] }]),
    ("breath test", &[T { table: "drug_tests" }, V { table: "drug_tests", column: "test_type", values: &["alcohol"] }]),
    ("drug and alcohol test", &[T { table: "drug_tests" }]),
    ("testing", &[T { table: "drug_tests" }]),
    ("tested", &[T { table: "drug_tests" }]),
    ("refused", &[V { table: "drug_tests", column: "result", values: &["refusal"] }]),
    ("refusal to test", &[V { table: "drug_tests", column: "result", values: &["refusal"] }]),
    ("positivity", &[V { table: "drug_tests", column: "result", values: &["positive"] }]),
    ("dilute", &[V { table: "drug_tests", column: "result", values: &["negative_dilute", "positive_dilute"] }]),
    ("sap", &[V { table: "drug_tests", column: "reason", values: &["return_to_duty", "follow_up"] }]),
    ("return to duty", &[V { table: "drug_tests", column: "reason", values: &["return_to_duty"] }]),
    ("rtd", &[V { table: "drug_tests", column: "reason", values: &["return_to_duty"] }]),
    ("pre employment", &[V { table: "drug_tests", column: "reason", values: &["pre_employment"] }]),
    ("preemployment", &[V { table: "drug_tests", column: "reason", values: &["pre_employment"] }]),
    ("reasonable suspicion", &[V { table: "drug_tests", column: "reason", values: &["reasonable_suspicion"] }]),
    ("post accident", &[V { table: "drug_tests", column: "reason", values: &["post_accident"] }]),
    ("lab", &[C { table: "drug_tests", column: "laboratory" }]),
    ("mro", &[C { table: "drug_tests", column: "mro_name" }]),
    ("reason", &[C { table: "drug_tests", column: "reason" }, C { table: "compliance_status", column: "reason" }, C { table: "employment_events", column: "reason" }]),
    ("thc", &[V { table: "drug_tests", column: "substances", values: &["marijuana"] }]),
    ("meth", &[V { table: "drug_tests", column: "substances", values: &["methamphetamine"] }]),
    ("dot", &[
        V { table: "drug_tests", column: "is_dot", values: &["true"] },
        V { table: "employees", column: "is_dot_covered", values: &["true"] },
        V { table: "compliance_status", column: "module", values: &["dot"] },
    ]),
    ("driver", &[T { table: "employees" }, V { table: "employees", column: "is_dot_covered", values: &["true"] }]),
    // Roster.
    ("hire", &[T { table: "employment_events" }, V { table: "employment_events", column: "event_type", values: &["hired"] }]),
    ("hired", &[C { table: "employees", column: "hire_date" }]),
    ("terminated", &[C { table: "employees", column: "termination_date" }]),
    ("termination", &[T { table: "employment_events" }, V { table: "employment_events", column: "event_type", values: &["terminated"] }]),
    ("issued", &[C { table: "training_certificates", column: "issued_date" }, C { table: "medical_certificates", column: "exam_date" }]),
    ("new hire", &[C { table: "employees", column: "hire_date" }]),
    ("headcount", &[T { table: "employees" }, V { table: "employees", column: "employment_status", values: &["active", "on_leave", "suspended"] }]),
    ("job", &[C { table: "employees", column: "job_title" }]),
    ("title", &[C { table: "employees", column: "job_title" }]),
    ("on leave", &[V { table: "employees", column: "employment_status", values: &["on_leave"] }]),
    // Compliance status.
    ("drug and alcohol", &[V { table: "compliance_status", column: "module", values: &["drug_alcohol"] }]),
    ("occupational health", &[V { table: "compliance_status", column: "module", values: &["occupational_health"] }]),
    ("geo fencing", &[V { table: "compliance_status", column: "module", values: &["geo_fencing"] }]),
    ("non compliant", &[T { table: "compliance_status" }, V { table: "compliance_status", column: "status", values: &["red"] }]),
    ("out of compliance", &[T { table: "compliance_status" }, V { table: "compliance_status", column: "status", values: &["red"] }]),
    ("module", &[C { table: "compliance_status", column: "module" }]),
    // Background checks.
    ("pending adjudication", &[V { table: "background_checks", column: "adjudication", values: &["pending"] }]),
    ("criminal record", &[V { table: "background_checks", column: "criminal_record_found", values: &["true"] }]),
    ("criminal", &[V { table: "background_checks", column: "criminal_record_found", values: &["true"] }]),
    ("need review", &[V { table: "background_checks", column: "adjudication", values: &["consider"] }]),
    ("vendor", &[C { table: "background_checks", column: "vendor" }]),
    ("package", &[C { table: "background_checks", column: "package" }]),
    // DOT driver qualification.
    ("med card", &[T { table: "medical_certificates" }, C { table: "driver_qualifications", column: "medical_card_expiration_date" }]),
    ("medical card", &[T { table: "medical_certificates" }, C { table: "driver_qualifications", column: "medical_card_expiration_date" }]),
    ("cdl", &[T { table: "driver_qualifications" }, C { table: "driver_qualifications", column: "cdl_expiration_date" }]),
    ("mvr review", &[T { table: "mvr_reviews" }, C { table: "driver_qualifications", column: "next_mvr_review_due" }]),
    ("incomplete", &[V { table: "driver_qualifications", column: "dq_file_complete", values: &["false"] }]),
    ("complete", &[V { table: "driver_qualifications", column: "dq_file_complete", values: &["true"] }]),
    ("missing", &[C { table: "driver_qualifications", column: "dq_missing_items" }]),
    ("violation", &[C { table: "mvr_reviews", column: "violations_count" }]),
    ("endorsement", &[C { table: "driver_qualifications", column: "cdl_endorsements" }]),
    ("class", &[C { table: "driver_qualifications", column: "cdl_class" }]),
    ("examiner", &[C { table: "medical_certificates", column: "examiner_name" }]),
    // Occupational health.
    ("failed", &[V { table: "respirator_fit_tests", column: "passed", values: &["false"] }, V { table: "medical_exams", column: "result", values: &["not_cleared"] }]),
    ("not cleared", &[V { table: "medical_exams", column: "result", values: &["not_cleared"] }]),
    ("threshold shift", &[V { table: "audiograms", column: "standard_threshold_shift", values: &["true"] }]),
    ("sts", &[V { table: "audiograms", column: "standard_threshold_shift", values: &["true"] }]),
    ("hearing loss", &[V { table: "osha_cases", column: "case_type", values: &["hearing_loss"] }]),
    ("lost time", &[V { table: "osha_cases", column: "outcome", values: &["days_away"] }]),
    ("case", &[T { table: "osha_cases" }]),
    ("body part", &[C { table: "osha_cases", column: "body_part" }]),
    ("clinic", &[C { table: "medical_exams", column: "clinic" }]),
    // Training.
    ("hazwoper 40", &[V { table: "training_certificates", column: "certificate_type", values: &["HAZWOPER 40"] }]),
    ("hazwoper refresher", &[V { table: "training_certificates", column: "certificate_type", values: &["HAZWOPER 8 Refresher"] }]),
    ("cpr", &[V { table: "training_certificates", column: "certificate_type", values: &["First Aid/CPR"] }]),
    ("first aid", &[V { table: "training_certificates", column: "certificate_type", values: &["First Aid/CPR"] }]),
    ("forklift", &[V { table: "training_certificates", column: "certificate_type", values: &["Forklift Operator"] }]),
    ("h2s", &[V { table: "training_certificates", column: "certificate_type", values: &["H2S Awareness"] }]),
    ("confined space", &[V { table: "training_certificates", column: "certificate_type", values: &["Confined Space Entry"] }]),
    ("hazmat", &[V { table: "training_certificates", column: "certificate_type", values: &["Hazmat Employee"] }]),
    ("unverified", &[V { table: "training_certificates", column: "verified", values: &["false"] }]),
    ("type", &[
        C { table: "training_certificates", column: "certificate_type" },
        C { table: "medical_exams", column: "exam_type" },
        C { table: "osha_cases", column: "case_type" },
        C { table: "drug_tests", column: "test_type" },
        C { table: "employment_events", column: "event_type" },
    ]),
    // Geo-fencing.
    ("outside", &[V { table: "check_ins", column: "inside_zone", values: &["false"] }]),
    ("inside", &[V { table: "check_ins", column: "inside_zone", values: &["true"] }]),
    ("distance", &[C { table: "check_ins", column: "distance_meters" }]),
    ("qr code", &[V { table: "check_ins", column: "method", values: &["qr"] }]),
];

/// Words that negate the yes/no value that follows them ("non-DOT", "not verified").
pub const NEGATIONS: &[&str] = &["not", "non", "no", "without", "never", "un"];

/// Words that mean the record's expiry or due date has passed.
pub const EXPIRED_WORDS: &[&str] = &["expired", "overdue", "lapsed", "past due"];
/// Words that mean the expiry or due date is coming (default window: 30 days).
pub const EXPIRING_WORDS: &[&str] = &["expiring", "expire", "expires", "due", "coming due", "renewal", "up for renewal"];
