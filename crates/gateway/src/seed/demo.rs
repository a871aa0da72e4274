//! The demo companies: three service companies in several states and one compliance
//! company assigned to two of them.

/// A demo location: name, city, state, latitude, longitude.
pub type DemoLocation = (&'static str, &'static str, &'static str, f64, f64);

/// A service or compliance company of the demo data.
pub struct DemoTenant {
    pub slug: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub usdot: Option<&'static str>,
    /// (division, [(location name, city, state, lat, lng)]).
    pub divisions: &'static [(&'static str, &'static [DemoLocation])],
}

pub const SERVICE_TENANTS: [DemoTenant; 3] = [
    DemoTenant {
        slug: "permian-hauling",
        name: "Permian Basin Hauling LLC",
        kind: "service_company",
        usdot: Some("3141592"),
        divisions: &[
            ("West Texas Operations", &[
                ("Midland Yard", "Midland", "TX", 31.9973, -102.0779),
                ("Odessa Terminal", "Odessa", "TX", 31.8457, -102.3676),
                ("Pecos Field Office", "Pecos", "TX", 31.4229, -103.4932),
            ]),
            ("New Mexico Operations", &[
                ("Hobbs Yard", "Hobbs", "NM", 32.7026, -103.1360),
                ("Carlsbad Terminal", "Carlsbad", "NM", 32.4207, -104.2288),
            ]),
        ],
    },
    DemoTenant {
        slug: "gulf-coast-energy",
        name: "Gulf Coast Energy Services Inc.",
        kind: "service_company",
        usdot: Some("2718281"),
        divisions: &[
            ("Louisiana", &[
                ("Houma Base", "Houma", "LA", 29.5958, -90.7195),
                ("Lafayette Shop", "Lafayette", "LA", 30.2241, -92.0198),
                ("Lake Charles Yard", "Lake Charles", "LA", 30.2266, -93.2174),
            ]),
            ("Texas Gulf", &[
                ("Beaumont Terminal", "Beaumont", "TX", 30.0802, -94.1266),
                ("Houston Ship Channel", "Houston", "TX", 29.7355, -95.2670),
            ]),
        ],
    },
    DemoTenant {
        slug: "red-river-logistics",
        name: "Red River Logistics Co.",
        kind: "service_company",
        usdot: Some("1414213"),
        divisions: &[
            ("Oklahoma", &[
                ("Oklahoma City Hub", "Oklahoma City", "OK", 35.4676, -97.5164),
                ("Tulsa Yard", "Tulsa", "OK", 36.1540, -95.9928),
                ("Ardmore Depot", "Ardmore", "OK", 34.1743, -97.1436),
            ]),
            ("North Texas and New Mexico", &[
                ("Wichita Falls Terminal", "Wichita Falls", "TX", 33.9137, -98.4934),
                ("Amarillo Yard", "Amarillo", "TX", 35.2220, -101.8313),
                ("Clovis Depot", "Clovis", "NM", 34.4048, -103.2052),
            ]),
        ],
    },
];

pub const COMPLIANCE_TENANT: DemoTenant = DemoTenant {
    slug: "sentinel-compliance",
    name: "Sentinel Compliance Partners",
    kind: "compliance_company",
    usdot: None,
    divisions: &[],
};

/// The service companies the compliance company audits.
pub const ASSIGNED: [&str; 2] = ["permian-hauling", "gulf-coast-energy"];

pub const FIRST_NAMES: [&str; 40] = [
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Jose", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Carlos", "Jessica", "Thomas", "Sarah", "Daniel", "Karen",
    "Luis", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Juan", "Ashley",
    "Steven", "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kevin", "Michelle", "Brian", "Carol",
];

pub const LAST_NAMES: [&str; 40] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
];

/// (title, DOT-covered, safety-sensitive, weight).
pub const JOBS: [(&str, bool, bool, u32); 12] = [
    ("CDL Driver", true, true, 26),
    ("Truck Driver", true, true, 12),
    ("Hazmat Driver", true, true, 6),
    ("Vacuum Truck Operator", true, true, 5),
    ("Equipment Operator", false, true, 12),
    ("Field Technician", false, true, 12),
    ("Welder", false, true, 5),
    ("Crane Operator", false, true, 4),
    ("Mechanic", false, true, 6),
    ("Dispatcher", false, false, 5),
    ("Office Administrator", false, false, 4),
    ("Safety Coordinator", false, false, 3),
];

/// (certificate type, issuer, validity in months or 0 for no expiry, who gets it: 0 all, 1 field, 2 drivers).
pub const CERTIFICATES: [(&str, &str, u32, u8); 12] = [
    ("HAZWOPER 40", "National Safety Council", 0, 1),
    ("HAZWOPER 8 Refresher", "National Safety Council", 12, 1),
    ("OSHA 10", "OSHA Outreach", 0, 0),
    ("OSHA 30", "OSHA Outreach", 0, 1),
    ("Forklift Operator", "Summit Training Source", 36, 1),
    ("First Aid/CPR", "American Red Cross", 24, 0),
    ("H2S Awareness", "PEC Safety", 12, 1),
    ("Confined Space Entry", "PEC Safety", 12, 1),
    ("Fall Protection", "Summit Training Source", 12, 1),
    ("Hazmat Employee", "J. J. Keller", 36, 2),
    ("Reasonable Suspicion Supervisor", "J. J. Keller", 0, 0),
    ("DER Training", "DATIA", 0, 0),
];

pub const SUBSTANCES: [&str; 6] = ["marijuana", "cocaine", "amphetamines", "methamphetamine", "opioids", "oxycodone"];
pub const LABS: [&str; 3] = ["Quest Diagnostics", "Labcorp", "Clinical Reference Laboratory"];
pub const VENDORS: [&str; 4] = ["Sterling", "HireRight", "Checkr", "First Advantage"];
pub const MROS: [&str; 3] = ["Dr. Alan Whitfield, MRO", "Dr. Grace Okafor, MRO", "Dr. Samuel Reyes, MRO"];
pub const CLINICS: [&str; 3] = ["Concentra", "WorkCare Occupational Health", "US HealthWorks"];
pub const EXAMINERS: [&str; 4] = ["Dr. Helen Park", "Dr. Marcus Bell", "Dr. Priya Shah", "Dr. Owen Carter"];
pub const BODY_PARTS: [&str; 8] = ["hand", "back", "knee", "shoulder", "eye", "ankle", "head", "wrist"];
pub const STREETS: [&str; 8] = ["Main St", "Oak Ave", "Pecan Dr", "Ranch Rd", "Cypress Ln", "Mesquite Blvd", "Bayou Way", "Prairie Ct"];
