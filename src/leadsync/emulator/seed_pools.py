"""Word pools the demo seed draws from: names, companies, places, titles.

Kept apart from `seed.py` so the generator reads as logic, not data. All values are
fictitious; every domain is under `example.com`/`.example` so no real mailbox gets mail.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty
Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy
Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole
Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel
Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth
Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren
Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan Christian Andrea Keith Cheryl
Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann Carl Sara
Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy
Alice Joe Judy Bruce Sophia Gabriel Grace Logan Denise Albert Amber Willie Doris Alan Marilyn
Juan Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph
Brittany Eugene Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Sven Ingrid Lars
Astrid Pierre Camille Hans Greta Yuki Hiroshi Priya Arjun Mei Wei Fatima Omar Lucia Mateo Sofia
Diego
"""
)

LAST_NAMES = _words(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson
Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce
Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll
Lane Riley Andrews Lindqvist Johansson Dubois Lefebvre Schneider Fischer Tanaka Sato Sharma
Gupta Wang Zhang Haddad Rossi Bianchi O'Brien
"""
)

COMPANY_STEMS = _words(
    """
Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Soylent Cyberdyne Tyrell Massive
Dynamic Aperture Oscorp Gringotts Monarch Virtucon Nakatomi Blue-Sun Ollivander Northwind
Contoso Fabrikam Tailspin Wingtip Litware Proseware Adventure Alpine Coho Fourth Lucerne Margie
Trey Woodgrove Bluebird Cedar Summit Harbor Pioneer Redwood Silverline Granite Beacon Crescent
Evergreen Falcon Horizon Keystone Lighthouse Meridian Nimbus Orchard Pinnacle Quantum Riverbend
Sterling Tidewater Unity Vertex Willow Zenith Aurora Borealis Cascade Driftwood Ember Fjord
Glacier
"""
)

COMPANY_SUFFIXES = [
    "Inc.",
    "LLC",
    "Corp.",
    "Group",
    "Systems",
    "Labs",
    "Partners",
    "Industries",
    "Technologies",
    "Holdings",
    "Solutions",
    "Analytics",
    "Logistics",
    "Health",
    "Energy",
    "Foods",
    "Media",
    "Capital",
    "Manufacturing",
    "Software",
    "AB",
    "GmbH",
    "SA",
]

TITLES = [
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "VP of Marketing",
    "VP of Sales",
    "VP of Engineering",
    "Director of Operations",
    "Director of IT",
    "Marketing Manager",
    "Sales Manager",
    "Product Manager",
    "Operations Manager",
    "IT Manager",
    "Software Engineer",
    "Data Analyst",
    "Procurement Specialist",
    "Head of Growth",
    "Office Manager",
    "Account Manager",
    "Business Analyst",
    "Founder",
    "Chief Revenue Officer",
    "Demand Generation Manager",
    "Solutions Architect",
    None,
]

DEPARTMENTS = [
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Operations",
    "IT",
    "Legal",
    "Procurement",
    "Executive",
]

# (city, state, postal code, country, phone prefix: country code and area code)
PLACES = [
    ("San Francisco", "CA", "94105", "USA", "1 415"),
    ("New York", "NY", "10001", "USA", "1 212"),
    ("Chicago", "IL", "60601", "USA", "1 312"),
    ("Austin", "TX", "73301", "USA", "1 512"),
    ("Seattle", "WA", "98101", "USA", "1 206"),
    ("Boston", "MA", "02108", "USA", "1 617"),
    ("Denver", "CO", "80202", "USA", "1 303"),
    ("Atlanta", "GA", "30303", "USA", "1 404"),
    ("Miami", "FL", "33101", "USA", "1 305"),
    ("Portland", "OR", "97201", "USA", "1 503"),
    ("Toronto", "ON", "M5H 2N2", "Canada", "1 416"),
    ("Vancouver", "BC", "V6B 1A1", "Canada", "1 604"),
    ("London", None, "EC1A 1BB", "United Kingdom", "44 20"),
    ("Manchester", None, "M1 1AE", "United Kingdom", "44 161"),
    ("Paris", None, "75001", "France", "33 1"),
    ("Lyon", None, "69001", "France", "33 4"),
    ("Berlin", None, "10115", "Germany", "49 30"),
    ("Munich", None, "80331", "Germany", "49 89"),
    ("Stockholm", None, "111 20", "Sweden", "46 8"),
    ("Gothenburg", None, "411 01", "Sweden", "46 31"),
    ("Madrid", None, "28001", "Spain", "34 91"),
    ("Barcelona", None, "08001", "Spain", "34 93"),
    ("Amsterdam", None, "1012 JS", "Netherlands", "31 20"),
    ("Sydney", "NSW", "2000", "Australia", "61 2"),
    ("Melbourne", "VIC", "3000", "Australia", "61 3"),
]

STREETS = [
    "Main St",
    "Market St",
    "Oak Ave",
    "Pine St",
    "Maple Ave",
    "Cedar Rd",
    "Elm St",
    "Harbor Blvd",
    "Lake Shore Dr",
    "Mission St",
    "Broadway",
    "High St",
    "Station Rd",
    "Park Ave",
    "Sunset Blvd",
    "Riverside Dr",
    "King St",
    "Queen St",
    "Church St",
    "Mill Rd",
]

STREET_NUMBERS = [
    str(n)
    for n in (
        1,
        7,
        12,
        25,
        42,
        100,
        101,
        150,
        221,
        300,
        404,
        500,
        742,
        888,
        1000,
        1200,
        1600,
        2000,
        2500,
        3100,
    )
]

LANGUAGES_BY_COUNTRY = {
    "France": "French",
    "Germany": "German",
    "Sweden": "Swedish",
    "Spain": "Spanish",
}

REP_USERS = [
    ("Maria", "Garcia", "Account Executive"),
    ("Tom", "Becker", "Account Executive"),
    ("Priya", "Raman", "Sales Development Rep"),
    ("Lucas", "Moreau", "Sales Development Rep"),
    ("Hannah", "Lindqvist", "Regional Sales Manager"),
    ("Kenji", "Watanabe", "Account Executive"),
]

INTERNAL_NOTES = [
    "Asked about volume pricing; loop in finance before quoting.",
    "Competitor incumbent, renewal due next quarter.",
    "Prefers email over calls.",
    "Met at the spring trade show.",
    "Budget approved for next fiscal year.",
]

CAMPAIGNS = [
    ("Spring Product Webinar", "Webinar", "Completed"),
    ("SaaS Summit Booth", "Trade Show", "Completed"),
    ("Q3 Newsletter", "Email", "In Progress"),
    ("Partner Roadshow", "Conference", "In Progress"),
    ("Search Ads - Analytics", "Advertisement", "In Progress"),
    ("Customer Advisory Board", "Other", "Planned"),
]

TASK_SUBJECTS = [
    "Call",
    "Send Letter",
    "Send Quote",
    "Follow up",
    "Email: Intro",
    "Discovery call",
    "Send pricing",
]
EVENT_SUBJECTS = ["Meeting", "Product demo", "Lunch", "Onsite visit", "Kickoff call"]
PRODUCTS = ["Core", "Analytics", "Connectors"]
