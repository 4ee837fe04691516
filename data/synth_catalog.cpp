#include "data/synth_catalog.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>

#include "data/plan.h"

namespace gt::data::synth {

namespace {

using nlohmann::json;

// ---- Slots ----

Slot strings(std::string name, std::string description, std::vector<std::string> values) {
  Slot s{std::move(name), ParamType::string, std::move(description), {}, ""};
  for (auto& v : values) s.values.emplace_back(std::move(v));
  return s;
}

// Numbers are written as JSON text, so 45 stays an integer and 12.75 prints back as 12.75 in the request.
Slot numbers(std::string name, ParamType type, std::string description, std::vector<std::string> values) {
  Slot s{std::move(name), type, std::move(description), {}, ""};
  for (const auto& v : values) s.values.push_back(json::parse(v));
  return s;
}

Slot flag(std::string name, std::string description, std::string cue) {
  return Slot{std::move(name), ParamType::boolean, std::move(description), {true}, std::move(cue)};
}

Slot alias(const Slot& of, std::string name, std::string description) {
  Slot s = of;
  s.name = std::move(name);
  s.description = std::move(description);
  return s;
}

std::vector<Slot> build_slots() {
  using T = ParamType;
  std::vector<Slot> s;
  s.push_back(strings("city", "City name",
                      {"Lisbon",   "Porto",     "Paris",   "Lyon",   "Rome",   "Milan",  "Berlin",  "Munich",
                       "Madrid",   "Barcelona", "Vienna",  "Prague", "Dublin", "London", "Oslo",    "Athens",
                       "Istanbul", "Cairo",     "Nairobi", "Tokyo",  "Osaka",  "Seoul",  "Bangkok", "Sydney",
                       "Toronto",  "Chicago",   "Seattle", "Boston", "Denver", "Austin", "Lima",    "Cape Town"}));
  s.push_back(alias(s.back(), "city_from", "Departure city"));
  s.push_back(strings("date", "Date, e.g. June 14", {}));
  s.push_back(strings("end_date", "End date, e.g. June 17", {}));
  s.push_back(strings("time", "Time of day",
                      {"7am", "8:30am", "9am", "10am", "11:15am", "noon", "12:30pm", "1pm", "2:45pm", "3pm", "4:30pm",
                       "6pm", "6:30pm", "7pm", "7:30pm", "8pm", "9pm"}));
  s.push_back(strings("country", "Country name",
                      {"Japan", "Brazil", "India", "Canada", "Kenya", "Vietnam", "Australia", "Turkey", "Mexico",
                       "Norway", "Egypt", "Peru", "Italy", "Spain", "Germany", "France"}));
  s.push_back(strings("nationality", "Traveler's nationality",
                      {"Portuguese", "American", "German", "Indian", "Brazilian", "Canadian", "Irish", "Japanese",
                       "Kenyan", "Mexican"}));
  s.push_back(strings("place", "Place name",
                      {"Central Station", "City Hall", "the airport", "the Old Town", "Union Square", "the harbor",
                       "the university campus", "the stadium", "the museum district", "Riverside Park"}));
  s.push_back(alias(s.back(), "place_from", "Starting point"));
  s.push_back(strings("address", "Street address",
                      {"12 Oak Street", "45 Harbor Road", "8 Elm Avenue", "210 Pine Lane", "77 Market Street",
                       "5 River Walk", "19 Hill Road", "301 Maple Drive", "64 Station Square", "9 Garden Row"}));
  s.push_back(strings("poi", "Kind of place",
                      {"coffee shop", "gas station", "pharmacy", "ATM", "parking garage", "bookstore", "supermarket",
                       "bakery", "laundromat", "post office"}));
  s.push_back(strings("mode", "Travel mode", {"walking", "driving", "cycling", "transit"}));
  s.push_back(strings("restaurant", "Restaurant name",
                      {"Casa Nova", "Sakura House", "The Green Fork", "Bella Napoli", "Spice Route", "Le Petit Bistro",
                       "Blue Lotus", "El Toro", "Olive Tree", "Golden Dragon", "Taverna Mykonos", "Saffron Garden"}));
  s.push_back(strings("hotel", "Hotel name",
                      {"Hotel Aurora", "The Grand Palace", "Harbor Inn", "Sunset Suites", "Park Lane Hotel",
                       "The Riverside", "Alpine Lodge", "City Central Hotel"}));
  s.push_back(strings("cuisine", "Cuisine",
                      {"Italian", "Thai", "Mexican", "Japanese", "Indian", "Greek", "Korean", "Lebanese", "Vietnamese",
                       "Spanish", "French", "Ethiopian", "vegan", "seafood"}));
  s.push_back(strings("dish", "Dish",
                      {"lasagna", "pad thai", "chicken curry", "tacos", "ramen", "shakshuka", "mushroom risotto",
                       "banana bread", "paella", "falafel wraps", "beef stew", "sushi rolls"}));
  s.push_back(
      strings("diet", "Diet", {"vegetarian", "vegan", "keto", "gluten-free", "low-carb", "pescatarian", "dairy-free"}));
  s.push_back(strings("ingredient", "Grocery item",
                      {"eggs", "milk", "spinach", "tomatoes", "rice", "chickpeas", "salmon", "tofu", "oat milk",
                       "avocados", "basil", "lemons"}));
  s.push_back(strings("person", "Person's name",
                      {"Anna",  "Marco", "Priya", "Tom", "Lena",  "Omar", "Yuki", "Sofia", "Daniel", "Chloe",
                       "Mateo", "Aisha", "Lucas", "Mia", "Ethan", "Nora", "Ravi", "Zoe",   "Hugo",   "Ines"}));
  s.push_back(strings("email", "Email address",
                      {"anna.silva@gmail.com", "marco.rossi@outlook.com", "priya.n@proton.me", "tom.baker@yahoo.com",
                       "lena.k@fastmail.com", "omar.h@gmail.com", "yuki.tanaka@outlook.com", "sofia.m@hey.com",
                       "dan.lee@acme.io", "chloe.b@proton.me", "mateo.g@gmail.com", "aisha.k@outlook.com"}));
  s.push_back(strings("phone", "Phone number",
                      {"+1 206 555 0134", "+1 415 555 0172", "+44 20 7946 0958", "+351 912 345 678", "+49 30 901820",
                       "+1 312 555 0199", "+61 2 9374 4000", "+81 3 1234 5678"}));
  s.push_back(strings("cabin", "Cabin class", {"economy", "premium economy", "business", "first class"}));
  s.push_back(strings("car_type", "Car type", {"compact car", "SUV", "electric car", "convertible", "minivan"}));
  s.push_back(strings("flight_number", "Flight number",
                      {"TP1352", "LH441", "BA117", "AF1380", "UA936", "IB3170", "KL1692", "EK191", "QF12", "DL405"}));
  s.push_back(numbers("passengers", T::integer, "Number of passengers", {"2", "3", "4", "5"}));
  s.push_back(numbers("guests", T::integer, "Number of guests", {"2", "3", "4"}));
  s.push_back(numbers("party_size", T::integer, "Number of people", {"2", "3", "4", "5", "6", "7", "8"}));
  s.push_back(numbers("days", T::integer, "Number of days", {"2", "3", "4", "5", "6", "7"}));
  s.push_back(strings("ticker", "Stock ticker",
                      {"AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "NFLX", "AMD", "INTC", "KO", "DIS"}));
  s.push_back(numbers("shares", T::integer, "Number of shares", {"5", "10", "12", "15", "20", "25", "50"}));
  s.push_back(numbers(
      "amount", T::number, "Amount of money",
      {"15", "20", "25.5", "40", "45", "75", "120", "250", "99.99", "12.75", "500", "1200", "18.5", "60", "300"}));
  s.push_back(
      strings("currency", "Currency code", {"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "BRL", "INR", "MXN"}));
  s.push_back(alias(s.back(), "currency_to", "Target currency code"));
  s.push_back(strings("account", "Account name", {"checking", "savings", "joint", "travel"}));
  s.push_back(
      strings("expense_category", "Expense category",
              {"groceries", "dining", "transport", "utilities", "rent", "travel", "entertainment", "healthcare"}));
  s.push_back(strings("biller", "Biller name", {"City Power", "AquaWater", "FiberNet", "GasCo", "MetroMobile"}));
  s.push_back(strings("coin", "Cryptocurrency", {"Bitcoin", "Ethereum", "Solana", "Cardano", "Dogecoin"}));
  s.push_back(numbers("loan_amount", T::number, "Loan amount", {"5000", "12000", "25000", "180000", "250000"}));
  s.push_back(numbers("rate", T::number, "Yearly interest rate in percent", {"3.5", "4.25", "5.1", "6.9", "7.75"}));
  s.push_back(numbers("years", T::integer, "Loan term in years", {"5", "10", "15", "20", "30"}));
  s.push_back(numbers("income", T::number, "Yearly income", {"42000", "58000", "67500", "85000", "120000"}));
  s.push_back(strings("food", "Food eaten",
                      {"oatmeal", "a grilled chicken salad", "a banana", "salmon with rice", "Greek yogurt",
                       "avocado toast", "lentil soup", "two slices of pizza", "a protein shake", "a turkey sandwich"}));
  s.push_back(
      strings("goal", "Goal",
              {"muscle gain", "weight loss", "marathon training", "better sleep", "more energy", "lower cholesterol"}));
  s.push_back(strings("activity", "Activity",
                      {"running", "cycling", "swimming", "yoga", "rowing", "hiking", "strength training", "pilates"}));
  s.push_back(numbers("minutes", T::integer, "Minutes", {"10", "15", "20", "30", "45", "60", "90"}));
  s.push_back(numbers("distance_km", T::number, "Distance in km", {"5", "10", "12.5", "21.1", "3.5", "8", "15"}));
  s.push_back(numbers("weight_kg", T::number, "Weight in kg", {"58.5", "64", "70.2", "72.5", "81", "90.4", "67.8"}));
  s.push_back(numbers("calories", T::integer, "Calories per day", {"1600", "1800", "2000", "2200", "2400", "2600"}));
  s.push_back(numbers("days_per_week", T::integer, "Sessions per week", {"2", "3", "4", "5", "6"}));
  s.push_back(strings("fitness_class", "Class type", {"yoga", "spin", "pilates", "HIIT", "boxing", "Zumba"}));
  s.push_back(strings("event_title", "Event title",
                      {"Team sync", "Dentist checkup", "Project review", "Yoga class", "Parent meeting",
                       "Budget planning", "Book club", "Dinner with friends", "Client call", "Date night"}));
  s.push_back(strings("subject", "Email subject",
                      {"Weekend plans", "Trip details", "Invoice question", "Meeting notes", "Dinner on Friday",
                       "Project update", "Quick question"}));
  s.push_back(strings("message", "Message text",
                      {"Running 10 minutes late", "Happy birthday!", "Call me when you land", "Dinner is at my place",
                       "Don't forget the tickets", "See you at the station", "The meeting moved to Thursday"}));
  s.push_back(
      strings("channel", "Channel name", {"#general", "#marketing", "#dev-team", "#random", "#sales", "#design"}));
  s.push_back(strings("keyword", "Search words",
                      {"invoice", "flight confirmation", "receipt", "contract", "newsletter", "job offer", "rent"}));
  s.push_back(numbers("count", T::integer, "Number of emails", {"5", "10", "15", "20"}));
  s.push_back(
      strings("product", "Product",
              {"wireless earbuds", "running shoes", "coffee grinder", "yoga mat", "desk lamp", "phone charger",
               "hiking backpack", "water bottle", "mechanical keyboard", "air fryer", "standing desk", "rain jacket"}));
  s.push_back(
      numbers("max_price", T::number, "Highest price", {"25", "30", "50", "80", "100", "150", "200", "499.99"}));
  s.push_back(numbers("quantity", T::integer, "How many", {"2", "3", "4", "5"}));
  s.push_back(strings("order_id", "Order number",
                      {"ORD-48213", "ORD-51907", "ORD-33675", "ORD-72041", "ORD-19588", "ORD-60432", "ORD-88210"}));
  s.push_back(strings("coupon", "Coupon code", {"SPRING20", "WELCOME10", "FREESHIP", "SAVE15", "VIP25"}));
  s.push_back(strings("return_reason", "Reason for the return",
                      {"the wrong size", "damaged", "not as described", "a duplicate order"}));
  s.push_back(strings("relation", "Who the gift is for",
                      {"my mom", "my brother", "a coworker", "my partner", "my best friend", "my dad"}));
  s.push_back(strings("store", "Store name", {"IKEA", "Decathlon", "Sephora", "Etsy", "Best Buy", "Zara"}));
  s.push_back(strings("artist", "Artist",
                      {"Adele", "Coldplay", "Miles Davis", "Taylor Swift", "Daft Punk", "Bob Marley", "Norah Jones",
                       "Radiohead", "Billie Eilish", "Stevie Wonder"}));
  s.push_back(
      strings("genre", "Music genre",
              {"jazz", "lo-fi", "classical", "rock", "hip hop", "reggae", "ambient", "pop", "blues", "country"}));
  s.push_back(
      strings("playlist", "Playlist name",
              {"Morning Run", "Focus Mix", "Road Trip", "Sunday Chill", "Dinner Party", "Deep Work", "Gym Hits"}));
  s.push_back(
      strings("song", "Song title",
              {"Clocks", "Hello", "So What", "Get Lucky", "Redemption Song", "Superstition", "Bad Guy", "Creep"}));
  s.push_back(strings("topic", "Topic",
                      {"electric cars", "climate policy", "space exploration", "renewable energy", "AI regulation",
                       "the housing market", "public transport", "ocean plastic", "remote work"}));
  s.push_back(strings(
      "team", "Team",
      {"Benfica", "Real Madrid", "the Lakers", "Arsenal", "the Yankees", "Bayern Munich", "the Celtics", "Juventus"}));
  s.push_back(strings("claim", "Claim to check",
                      {"coffee stunts growth", "the Great Wall is visible from space", "bats are blind",
                       "goldfish have a three-second memory", "we only use 10% of our brains"}));
  s.push_back(
      strings("folder", "Folder name", {"Finance", "Work", "Travel", "Personal", "Archive", "Photos", "Recipes"}));
  s.push_back(numbers("sentences", T::integer, "Number of sentences", {"2", "3", "4", "5"}));
  s.push_back(strings("language", "Language",
                      {"Spanish", "French", "German", "Japanese", "Portuguese", "Italian", "Korean", "Arabic", "Dutch",
                       "Swedish", "Hindi", "Greek"}));
  s.push_back(strings(
      "text", "Text",
      {"Where is the train station?", "I have a reservation for two", "How much does this cost?",
       "Thank you for your help", "Can we meet tomorrow morning?", "The meeting is canceled", "Please call me back"}));
  s.push_back(strings(
      "word", "Word",
      {"serendipity", "ephemeral", "ubiquitous", "resilient", "candid", "meticulous", "pragmatic", "eloquent"}));
  s.push_back(strings("bad_sentence", "Text to correct",
                      {"me and him goes to school", "she dont like apples", "their going to the park later",
                       "I has two cat", "we was late yesterday"}));
  s.push_back(
      strings("audio_file", "Audio file name",
              {"voice_memo_12.m4a", "interview.mp3", "lecture_3.wav", "standup_recording.mp3", "podcast_draft.wav"}));
  s.push_back(strings("voice", "Voice style", {"calm", "cheerful", "deep", "soft", "British"}));
  s.push_back(strings("room", "Room",
                      {"living room", "kitchen", "bedroom", "office", "hallway", "garage", "bathroom", "dining room"}));
  s.push_back(strings("on_off", "on or off", {"on", "off"}));
  s.push_back(strings("door", "Which door", {"front door", "back door", "garage door", "side gate"}));
  s.push_back(strings("lock_action", "lock or unlock", {"lock", "unlock"}));
  s.push_back(strings("blinds_position", "open or closed", {"open", "closed", "half open"}));
  s.push_back(strings("camera", "Camera name", {"driveway", "backyard", "porch", "garage", "nursery"}));
  s.push_back(strings("scene", "Scene name", {"movie night", "good morning", "away", "bedtime", "dinner"}));
  s.push_back(strings("appliance", "Appliance", {"coffee maker", "fan", "heater", "TV", "kettle", "dehumidifier"}));
  s.push_back(
      numbers("temperature", T::integer, "Temperature in degrees Celsius", {"18", "19", "20", "21", "22", "23", "24"}));
  s.push_back(numbers("brightness", T::integer, "Brightness in percent", {"20", "30", "40", "50", "60", "75", "80"}));
  s.push_back(strings("period", "Time period", {"today", "this week", "this month", "yesterday"}));
  s.push_back(strings("symptom", "Symptom",
                      {"headache", "sore throat", "back pain", "fever", "cough", "rash", "stomach ache", "dizziness"}));
  s.push_back(strings(
      "specialty", "Doctor's specialty",
      {"dermatologist", "dentist", "cardiologist", "pediatrician", "physiotherapist", "optometrist", "family doctor"}));
  s.push_back(
      strings("doctor", "Doctor's name", {"Dr. Silva", "Dr. Chen", "Dr. Patel", "Dr. Kim", "Dr. Okafor", "Dr. Rossi"}));
  s.push_back(strings(
      "medication", "Medication",
      {"ibuprofen", "amoxicillin", "vitamin D", "loratadine", "metformin", "paracetamol", "omeprazole", "aspirin"}));
  s.push_back(alias(s.back(), "medication2", "Second medication"));
  s.push_back(strings("lab_test", "Lab test",
                      {"blood test", "cholesterol panel", "vitamin D test", "thyroid panel", "iron test"}));
  s.push_back(strings("meditation_focus", "What to focus on", {"stress", "sleep", "focus", "anxiety", "gratitude"}));
  s.push_back(strings("mood", "Mood", {"calm", "anxious", "happy", "tired", "stressed", "motivated"}));
  s.push_back(strings("doc_title", "Document title",
                      {"Q3 Report", "Trip Plan", "Meeting Notes", "Project Brief", "Reading List", "Budget 2025",
                       "Wedding Checklist"}));
  s.push_back(strings("file", "File name",
                      {"budget_2025.xlsx", "project_plan.docx", "meeting_notes.txt", "invoice_0423.pdf", "resume.pdf",
                       "travel_itinerary.pdf", "contract_draft.docx", "q3_sales.xlsx"}));
  s.push_back(strings("spreadsheet", "Spreadsheet file",
                      {"budget_2025.xlsx", "q3_sales.xlsx", "inventory.xlsx", "expenses_march.xlsx"}));
  s.push_back(strings("cell_range", "Cell range", {"A1:C10", "B2:B20", "A1:F5", "D1:D30"}));
  s.push_back(numbers("bullet_points", T::integer, "Number of bullet points", {"3", "4", "5"}));
  s.push_back(strings("note", "Note text",
                      {"buy milk on the way home", "call the plumber", "ideas for the party", "ask about the contract",
                       "book the car service"}));
  s.push_back(numbers("copies", T::integer, "Number of copies", {"2", "3", "4", "5"}));
  s.push_back(strings("movie", "Movie title",
                      {"Inception", "Dune", "Arrival", "Interstellar", "Coco", "Jaws", "Alien", "Amelie", "Parasite"}));
  s.push_back(strings("movie_genre", "Movie genre",
                      {"comedy", "thriller", "documentary", "animated", "sci-fi", "drama", "horror"}));
  s.push_back(numbers("seats", T::integer, "Number of seats", {"2", "3", "4", "5"}));
  s.push_back(
      strings("trivia_category", "Quiz category", {"history", "geography", "science", "movies", "sports", "music"}));
  s.push_back(numbers("questions", T::integer, "Number of questions", {"5", "10", "15", "20"}));
  s.push_back(strings("task", "Task",
                      {"call the bank", "water the plants", "pick up the dry cleaning", "renew my passport", "pay rent",
                       "buy a birthday gift", "book a haircut", "return the library books"}));
  s.push_back(strings("book", "Book title",
                      {"Pride and Prejudice", "The Hobbit", "Sapiens", "Atomic Habits", "Educated", "Becoming"}));
  s.push_back(flag("nonstop", "Only nonstop flights", "nonstop"));
  s.push_back(flag("outdoor_seating", "Needs outdoor seating", "outdoor seating"));
  s.push_back(flag("pet_friendly", "Allows pets", "pet-friendly"));
  s.push_back(flag("express", "Express shipping", "express shipping"));
  s.push_back(flag("urgent", "Mark as urgent", "urgent"));
  return s;
}

// ---- Plugins ----

struct Spec {
  std::string name, description, method;
  std::vector<Param> params;
  std::string makes;
  std::vector<std::string> takes;
  std::vector<std::string> clauses, follow_ups;
};

struct DomainSpec {
  Domain domain;
  std::vector<Spec> plugins;
};

Param opt(std::string name, std::string slot = "", std::string description = "") {
  return Param{std::move(name), false, std::move(slot), std::move(description)};
}
Param req(std::string name, std::string slot = "", std::string description = "") {
  return Param{std::move(name), true, std::move(slot), std::move(description)};
}

std::vector<DomainSpec> build_specs() {
  std::vector<DomainSpec> d;
  d.push_back(
      {{"weather", "rest_api", "the weather"},
       {
           {"Weather Forecast",
            "Daily weather forecast for a city",
            "GET",
            {req("city"), req("date")},
            "text",
            {},
            {"check the weather in {city} on {date}", "get the forecast for {city} on {date}",
             "tell me if it will rain in {city} on {date}"},
            {}},
           {"Current Weather",
            "Current weather conditions in a city",
            "GET",
            {req("city")},
            "text",
            {},
            {"tell me the current weather in {city}", "check how warm it is in {city} right now"},
            {}},
           {"Air Quality Index",
            "Air pollution level for a city",
            "GET",
            {req("city")},
            "text",
            {},
            {"check the air quality in {city}", "get the pollution level in {city}"},
            {}},
           {"UV Index",
            "UV index for a city on a date",
            "GET",
            {req("city"), req("date")},
            "text",
            {},
            {"check the UV index in {city} on {date}", "find out how strong the sun will be in {city} on {date}"},
            {}},
           {"Weather Alerts",
            "Severe weather warnings for a city",
            "GET",
            {req("city")},
            "text",
            {},
            {"check for storm warnings in {city}", "see if there are any weather alerts for {city}"},
            {}},
           {"Pollen Tracker",
            "Pollen levels for a city",
            "GET",
            {req("city"), opt("date")},
            "text",
            {},
            {"check the pollen count in {city}", "check pollen levels in {city} on {date}"},
            {}},
           {"Sunrise Sunset",
            "Sunrise and sunset times for a city",
            "GET",
            {req("city"), req("date")},
            "text",
            {},
            {"find the sunrise time in {city} on {date}", "tell me when the sun sets in {city} on {date}"},
            {}},
           {"Marine Forecast",
            "Wave and wind forecast for a coast",
            "GET",
            {req("city"), req("date")},
            "text",
            {},
            {"check the surf conditions near {city} on {date}", "get the wave forecast for {city} on {date}"},
            {}},
           {"Weather History",
            "Past weather for a city and date",
            "GET",
            {req("city"), req("date")},
            "text",
            {},
            {"look up what the weather was like in {city} on {date}", "get the past weather for {city} on {date}"},
            {}},
           {"Rain Radar",
            "Rain radar for the next hours",
            "GET",
            {req("city")},
            "text",
            {},
            {"show the rain radar for {city}", "check if rain is heading to {city} in the next few hours"},
            {}},
       }});
  d.push_back(
      {{"travel", "rest_api", "a trip"},
       {
           {"Flight Search",
            "Finds flights between two cities",
            "GET",
            {req("origin", "city_from"), req("destination", "city"), req("date"), opt("cabin"), opt("nonstop")},
            "flight",
            {},
            {"find a flight from {origin} to {destination} on {date}",
             "search for {cabin} flights from {origin} to {destination} on {date}",
             "look for a {nonstop} flight from {origin} to {destination} on {date}"},
            {}},
           {"Flight Booking",
            "Books a flight for passengers",
            "POST",
            {req("passengers"), opt("cabin"), opt("flight_number")},
            "booking",
            {"flight"},
            {"book flight {flight_number} for {passengers} passengers",
             "book {passengers} seats in {cabin} on flight {flight_number}"},
            {"book it for {passengers} passengers", "book that flight for {passengers} people in {cabin}"}},
           {"Flight Status",
            "Live status of a flight",
            "GET",
            {req("flight_number")},
            "text",
            {},
            {"check the status of flight {flight_number}", "tell me if flight {flight_number} is on time"},
            {}},
           {"Hotel Search",
            "Finds hotels in a city for given dates",
            "GET",
            {req("city"), req("check_in", "date", "Check-in date"), req("check_out", "end_date", "Check-out date"),
             opt("guests"), opt("max_price", "", "Highest price per night"), opt("pet_friendly")},
            "hotel",
            {},
            {"find a hotel in {city} from {check_in} to {check_out}",
             "search for hotels in {city} between {check_in} and {check_out} for {guests} guests",
             "find a hotel in {city} under ${max_price} a night from {check_in} to {check_out}",
             "look for a {pet_friendly} hotel in {city} from {check_in} to {check_out}"},
            {}},
           {"Hotel Booking",
            "Books a hotel room",
            "POST",
            {req("guests"), opt("hotel"), opt("check_in", "date", "Check-in date"),
             opt("check_out", "end_date", "Check-out date")},
            "booking",
            {"hotel"},
            {"book a room at {hotel} for {guests} guests from {check_in} to {check_out}",
             "reserve a room for {guests} at {hotel} from {check_in} to {check_out}"},
            {"book a room there for {guests} guests", "reserve it for {guests} people"}},
           {"Car Rental",
            "Rents a car in a city",
            "POST",
            {req("city"), req("pickup_date", "date", "Pick-up date"), req("return_date", "end_date", "Return date"),
             opt("car_type")},
            "booking",
            {},
            {"rent a car in {city} from {pickup_date} to {return_date}",
             "rent a car in {city} from {pickup_date} to {return_date}, {car_type} if possible"},
            {}},
           {"Train Tickets",
            "Books train tickets between two cities",
            "POST",
            {req("origin", "city_from"), req("destination", "city"), req("date"), opt("passengers")},
            "booking",
            {},
            {"get train tickets from {origin} to {destination} on {date}",
             "book {passengers} train tickets from {origin} to {destination} on {date}"},
            {}},
           {"Visa Checker",
            "Visa rules for a destination country",
            "GET",
            {req("country"), req("nationality")},
            "text",
            {},
            {"check if a {nationality} citizen needs a visa for {country}",
             "find the visa rules for {nationality} travelers going to {country}"},
            {}},
           {"Airport Transfer",
            "Books a ride from the airport",
            "POST",
            {req("city"), req("time")},
            "booking",
            {"flight"},
            {"book an airport transfer in {city} at {time}", "arrange a ride from the {city} airport at {time}"},
            {"arrange a ride from the airport in {city} at {time}",
             "book a transfer from the {city} airport at {time}"}},
           {"Travel Insurance",
            "Quotes travel insurance for a trip",
            "POST",
            {req("country", "", "Destination country"), req("travelers", "passengers", "Number of travelers")},
            "text",
            {},
            {"get a travel insurance quote for {travelers} people going to {country}",
             "quote travel insurance for a trip to {country} for {travelers} travelers"},
            {}},
           {"Trip Itinerary",
            "Builds a day-by-day itinerary",
            "POST",
            {req("city"), req("days")},
            "document",
            {},
            {"plan a {days}-day itinerary for {city}", "make me a {days} day trip plan for {city}"},
            {}},
       }});
  d.push_back({{"food", "rest_api", "food and dining"},
               {
                   {"Restaurant Finder",
                    "Finds restaurants by cuisine and city",
                    "GET",
                    {req("cuisine"), req("city"), opt("outdoor_seating")},
                    "restaurant",
                    {},
                    {"find a {cuisine} restaurant in {city}", "look for a good {cuisine} place in {city}",
                     "find a {cuisine} restaurant in {city} with {outdoor_seating}"},
                    {}},
                   {"Table Booking",
                    "Books a table at a restaurant",
                    "POST",
                    {req("party_size"), req("date"), req("time"), opt("restaurant")},
                    "booking",
                    {"restaurant"},
                    {"book a table at {restaurant} for {party_size} on {date} at {time}",
                     "reserve a table for {party_size} at {restaurant} on {date} at {time}"},
                    {"book a table there for {party_size} on {date} at {time}",
                     "reserve a table for {party_size} people there on {date} at {time}"}},
                   {"Food Delivery",
                    "Orders food delivery to an address",
                    "POST",
                    {req("dish"), req("address")},
                    "order",
                    {"restaurant"},
                    {"order {dish} to {address}", "get {dish} delivered to {address} for dinner"},
                    {"order {dish} from there to {address}", "have them deliver {dish} to {address}"}},
                   {"Recipe Search",
                    "Finds recipes for a dish",
                    "GET",
                    {req("dish"), opt("diet")},
                    "recipe",
                    {},
                    {"find a recipe for {dish}", "find a {diet} recipe for {dish}", "look up how to make {dish}"},
                    {}},
                   {"Menu Viewer",
                    "Shows a restaurant's menu",
                    "GET",
                    {opt("restaurant")},
                    "text",
                    {"restaurant"},
                    {"show me the menu at {restaurant}", "get the menu of {restaurant}"},
                    {"show me its menu", "get the menu"}},
                   {"Restaurant Reviews",
                    "Reviews and ratings of a restaurant",
                    "GET",
                    {opt("restaurant")},
                    "text",
                    {"restaurant"},
                    {"read the reviews of {restaurant}", "check the rating of {restaurant}"},
                    {"check its reviews", "see what people say about it"}},
                   {"Grocery List",
                    "Adds items to a shopping list",
                    "POST",
                    {opt("item", "ingredient")},
                    "list",
                    {"recipe"},
                    {"add {item} to my shopping list", "put {item} on my grocery list"},
                    {"add the ingredients to my shopping list", "put what I need on my grocery list"}},
                   {"Grocery Delivery",
                    "Orders groceries for delivery",
                    "POST",
                    {req("address"), opt("item", "ingredient")},
                    "order",
                    {"list"},
                    {"order {item} and other groceries for delivery to {address}",
                     "get a grocery delivery with {item} to {address}"},
                    {"order everything on it for delivery to {address}", "have the groceries delivered to {address}"}},
                   {"Wine Pairing",
                    "Suggests a wine for a dish",
                    "GET",
                    {req("dish")},
                    "text",
                    {},
                    {"suggest a wine to go with {dish}", "tell me what wine pairs with {dish}"},
                    {}},
                   {"Catering Quote",
                    "Quotes catering for an event",
                    "POST",
                    {req("party_size"), req("cuisine"), req("date")},
                    "text",
                    {},
                    {"get a catering quote for {party_size} people, {cuisine} food, on {date}",
                     "ask for {cuisine} catering for {party_size} guests on {date}"},
                    {}},
               }});
  d.push_back({{"finance", "rest_api", "my finances"},
               {
                   {"Stock Quote",
                    "Latest price of a stock",
                    "GET",
                    {req("ticker")},
                    "quote",
                    {},
                    {"get the current price of {ticker}", "check how {ticker} stock is doing"},
                    {}},
                   {"Stock Order",
                    "Buys shares of a stock",
                    "POST",
                    {req("ticker"), req("shares")},
                    "receipt",
                    {"quote"},
                    {"buy {shares} shares of {ticker}", "place an order for {shares} {ticker} shares"},
                    {"buy {shares} {ticker} shares at that price",
                     "place an order for {shares} shares of {ticker} at that price"}},
                   {"Currency Converter",
                    "Converts an amount between currencies",
                    "GET",
                    {req("amount"), req("from", "currency"), req("to", "currency_to")},
                    "text",
                    {},
                    {"convert {amount} {from} to {to}", "tell me how much {amount} {from} is in {to}"},
                    {}},
                   {"Expense Tracker",
                    "Logs an expense in a category",
                    "POST",
                    {req("category", "expense_category"), opt("amount")},
                    "",
                    {"order", "booking", "receipt"},
                    {"log a ${amount} expense for {category}", "add ${amount} spent on {category} to my expenses"},
                    {"log the cost as a {category} expense", "add it to my {category} expenses"}},
                   {"Budget Planner",
                    "Sets a monthly budget for a category",
                    "POST",
                    {req("category", "expense_category"), req("amount")},
                    "",
                    {},
                    {"set a monthly {category} budget of ${amount}", "cap my {category} spending at ${amount} a month"},
                    {}},
                   {"Bank Balance",
                    "Balance of a bank account",
                    "GET",
                    {req("account")},
                    "text",
                    {},
                    {"check the balance of my {account} account", "tell me how much is in my {account} account"},
                    {}},
                   {"Money Transfer",
                    "Sends money to a contact",
                    "POST",
                    {req("amount"), req("recipient", "person")},
                    "receipt",
                    {},
                    {"send ${amount} to {recipient}", "transfer ${amount} to {recipient}"},
                    {}},
                   {"Bill Pay",
                    "Pays a utility bill",
                    "POST",
                    {req("biller"), req("amount")},
                    "receipt",
                    {},
                    {"pay my {biller} bill of ${amount}", "pay ${amount} to {biller}"},
                    {}},
                   {"Crypto Price",
                    "Price of a cryptocurrency",
                    "GET",
                    {req("coin")},
                    "text",
                    {},
                    {"check the price of {coin}", "tell me what {coin} is trading at"},
                    {}},
                   {"Loan Calculator",
                    "Monthly payment for a loan",
                    "GET",
                    {req("amount", "loan_amount"), req("rate"), req("years")},
                    "text",
                    {},
                    {"calculate the monthly payment on a ${amount} loan at {rate}% over {years} years",
                     "work out what a ${amount} loan at {rate}% for {years} years costs per month"},
                    {}},
                   {"Tax Estimator",
                    "Estimates yearly income tax",
                    "GET",
                    {req("income"), opt("country")},
                    "text",
                    {},
                    {"estimate the tax on a ${income} salary", "estimate my income tax on ${income} in {country}"},
                    {}},
               }});
  d.push_back(
      {{"fitness", "rest_api", "my fitness"},
       {
           {"Nutrition BOT",
            "Nutrition plans for a goal",
            "POST",
            {req("goal")},
            "text",
            {},
            {"make me a nutrition plan for {goal}", "suggest what I should eat for {goal}"},
            {}},
           {"Calorie Counter",
            "Logs food and counts calories",
            "POST",
            {req("food")},
            "",
            {},
            {"log {food} in my food diary", "add {food} to today's calories"},
            {}},
           {"Workout Planner",
            "Builds a workout plan for a goal",
            "POST",
            {req("goal"), opt("days_per_week")},
            "workout",
            {},
            {"create a workout plan for {goal}",
             "build a workout plan for {goal} with {days_per_week} sessions a week"},
            {}},
           {"Activity Logger",
            "Records a workout session",
            "POST",
            {req("activity"), req("minutes")},
            "",
            {},
            {"log a {minutes}-minute {activity} session", "record {minutes} minutes of {activity}"},
            {}},
           {"Run Tracker",
            "Logs a run with its distance",
            "POST",
            {req("distance_km"), opt("minutes")},
            "",
            {},
            {"log a {distance_km} km run", "record my {distance_km} km run in {minutes} minutes"},
            {}},
           {"Weight Log",
            "Records body weight",
            "POST",
            {req("weight_kg")},
            "",
            {},
            {"log my weight as {weight_kg} kg", "record a weight of {weight_kg} kg"},
            {}},
           {"Meal Planner",
            "Plans meals for a diet and calorie target",
            "POST",
            {req("diet"), req("calories")},
            "recipe",
            {},
            {"plan a week of {diet} meals at {calories} calories a day",
             "make a {diet} meal plan with {calories} calories per day"},
            {}},
           {"Nutrition Facts",
            "Nutrition facts for a food",
            "GET",
            {req("food")},
            "text",
            {},
            {"look up the nutrition facts for {food}", "tell me how much protein is in {food}"},
            {}},
           {"Water Reminder",
            "Reminds you to drink water",
            "POST",
            {req("minutes", "", "Minutes between reminders")},
            "",
            {},
            {"remind me to drink water every {minutes} minutes", "set a water reminder every {minutes} minutes"},
            {}},
           {"Gym Class Booking",
            "Books a class at the gym",
            "POST",
            {req("class_type", "fitness_class"), req("date"), req("time")},
            "booking",
            {},
            {"book a {class_type} class on {date} at {time}", "sign me up for {class_type} on {date} at {time}"},
            {}},
           {"Step Counter",
            "Daily step count",
            "GET",
            {req("date")},
            "text",
            {},
            {"tell me how many steps I walked on {date}", "get my step count for {date}"},
            {}},
       }});
  d.push_back(
      {{"calendar", "rest_api", "my schedule"},
       {
           {"Calendar Event",
            "Adds an event to the calendar",
            "POST",
            {req("title", "event_title"), opt("date"), opt("time")},
            "event",
            {"booking", "event", "workout"},
            {"add {title} to my calendar on {date} at {time}", "put {title} in my calendar for {date} at {time}",
             "add {title} to my calendar on {date}"},
            {"add it to my calendar as '{title}'", "put it in my calendar as '{title}'",
             "save it in my calendar under '{title}'"}},
           {"Meeting Scheduler",
            "Schedules a meeting with someone",
            "POST",
            {req("attendee", "person"), req("date"), req("time"), opt("duration", "minutes", "Length in minutes")},
            "event",
            {},
            {"schedule a meeting with {attendee} on {date} at {time}",
             "set up a {duration}-minute meeting with {attendee} on {date} at {time}"},
            {}},
           {"Free Slot Finder",
            "Finds free time in the calendar",
            "GET",
            {req("date"), opt("duration", "minutes", "Length in minutes")},
            "text",
            {},
            {"find a free slot in my calendar on {date}", "check when I have {duration} free minutes on {date}"},
            {}},
           {"Reminder",
            "Sets a reminder for a task",
            "POST",
            {req("date"), opt("task"), opt("time")},
            "",
            {"booking", "event"},
            {"remind me to {task} on {date}", "remind me to {task} on {date} at {time}"},
            {"remind me about it on {date}", "set a reminder for it on {date} at {time}"}},
           {"Event Cancel",
            "Cancels a calendar event",
            "DELETE",
            {req("title", "event_title"), req("date")},
            "",
            {},
            {"cancel {title} on {date}", "remove {title} from my calendar on {date}"},
            {}},
           {"Agenda Viewer",
            "Lists the events of a day",
            "GET",
            {req("date")},
            "text",
            {},
            {"show my agenda for {date}", "tell me what's on my calendar on {date}"},
            {}},
           {"Task Manager",
            "Adds a task to a to-do list",
            "POST",
            {req("task"), opt("due", "date", "Due date")},
            "",
            {},
            {"add '{task}' to my to-do list", "create a task to {task} by {due}"},
            {}},
           {"Time Zone Converter",
            "Converts a time between cities",
            "GET",
            {req("time"), req("from", "city_from"), req("to", "city")},
            "text",
            {},
            {"convert {time} in {from} to {to} time", "tell me what time it is in {to} when it's {time} in {from}"},
            {}},
           {"Alarm Clock",
            "Sets an alarm",
            "POST",
            {req("time"), opt("label", "event_title", "Alarm label")},
            "",
            {},
            {"set an alarm for {time}", "wake me up at {time}", "set an alarm for {time} called '{label}'"},
            {}},
           {"Countdown Timer",
            "Starts a countdown timer",
            "POST",
            {req("minutes")},
            "",
            {},
            {"start a {minutes}-minute timer", "set a timer for {minutes} minutes"},
            {}},
           {"Birthday Tracker",
            "Saves a birthday",
            "POST",
            {req("name", "person"), req("date")},
            "",
            {},
            {"save {name}'s birthday on {date}", "remember that {name}'s birthday is on {date}"},
            {}},
       }});
  d.push_back(
      {{"messaging", "rest_api", "my messages"},
       {
           {"Email Sender",
            "Sends an email",
            "POST",
            {req("to", "email"), opt("subject"), opt("urgent")},
            "",
            {"*"},
            {"email {to} with the subject '{subject}'", "send an email to {to} about '{subject}'",
             "send an {urgent} email to {to} about '{subject}'"},
            {"email it to {to}", "send the details to {to} by email",
             "email the results to {to} with the subject '{subject}'"}},
           {"SMS Sender",
            "Sends a text message to a phone number",
            "POST",
            {req("phone"), opt("message")},
            "",
            {"*"},
            {"text {phone} saying '{message}'", "send an SMS to {phone}: '{message}'"},
            {"text it to {phone}", "send it by SMS to {phone}"}},
           {"Slack Poster",
            "Posts a message to a Slack channel",
            "POST",
            {req("channel"), opt("message")},
            "",
            {"*"},
            {"post '{message}' in {channel}", "write '{message}' in the {channel} Slack channel"},
            {"post it in {channel}", "share the results in the {channel} channel on Slack"}},
           {"WhatsApp Sender",
            "Sends a WhatsApp message to a contact",
            "POST",
            {req("contact", "person"), opt("message")},
            "",
            {"*"},
            {"send {contact} a WhatsApp saying '{message}'", "message {contact} on WhatsApp: '{message}'"},
            {"send it to {contact} on WhatsApp", "share it with {contact} over WhatsApp"}},
           {"Inbox Search",
            "Searches emails by keyword",
            "GET",
            {req("query", "keyword")},
            "text",
            {},
            {"find emails about {query}", "search my inbox for '{query}'"},
            {}},
           {"Email Summarizer",
            "Summarizes the latest emails",
            "GET",
            {req("count")},
            "summary",
            {},
            {"summarize my last {count} emails", "give me a summary of my {count} newest emails"},
            {}},
           {"Contact Lookup",
            "Finds a contact's details",
            "GET",
            {req("name", "person")},
            "text",
            {},
            {"look up {name}'s contact details", "find {name}'s phone number"},
            {}},
           {"Group Invite",
            "Invites someone to an event by email",
            "POST",
            {req("to", "email"), opt("title", "event_title")},
            "",
            {"event", "booking"},
            {"invite {to} to '{title}'", "send {to} an invite for '{title}'"},
            {"invite {to} to it", "send an invite for it to {to}"}},
           {"Newsletter Subscribe",
            "Subscribes an email to a newsletter",
            "POST",
            {req("email"), req("topic")},
            "",
            {},
            {"subscribe {email} to a newsletter about {topic}", "sign {email} up for the {topic} newsletter"},
            {}},
           {"Auto Reply",
            "Sets an out-of-office reply",
            "POST",
            {req("until", "date", "Last day away"), opt("message")},
            "",
            {},
            {"turn on my out-of-office reply until {until}", "set an auto-reply until {until} saying '{message}'"},
            {}},
           {"Video Call",
            "Starts a video call with a contact",
            "POST",
            {req("contact", "person")},
            "",
            {},
            {"start a video call with {contact}", "video call {contact}"},
            {}},
       }});
  d.push_back(
      {{"shopping", "rest_api", "some shopping"},
       {
           {"Product Search",
            "Searches products by keyword and price",
            "GET",
            {req("query", "product"), opt("max_price")},
            "product",
            {},
            {"search for {query}", "find {query} under ${max_price}", "look for {query} for less than ${max_price}"},
            {}},
           {"Add To Cart",
            "Adds a product to the cart",
            "POST",
            {req("quantity"), opt("product")},
            "cart",
            {"product"},
            {"add {quantity} {product} to my cart", "put {quantity} {product} in my shopping cart"},
            {"add {quantity} of them to my cart", "put {quantity} in my cart"}},
           {"Checkout",
            "Pays for the cart and places the order",
            "POST",
            {req("address"), opt("coupon"), opt("express")},
            "order",
            {"cart"},
            {"check out my cart and ship it to {address}",
             "place my order with coupon {coupon} and ship it to {address}", "check out with {express} to {address}"},
            {"check out and ship to {address}", "place the order with coupon {coupon}, shipping to {address}",
             "check out with {express} to {address}"}},
           {"Order Tracker",
            "Tracks an order's delivery",
            "GET",
            {opt("order_id")},
            "text",
            {"order"},
            {"track order {order_id}", "tell me where my order {order_id} is"},
            {"track the delivery", "tell me when it will arrive"}},
           {"Price Alert",
            "Alerts you when a product gets cheaper",
            "POST",
            {req("product"), req("target_price", "max_price", "Alert below this price")},
            "",
            {},
            {"alert me when {product} drops below ${target_price}",
             "watch the price of {product} and tell me when it's under ${target_price}"},
            {}},
           {"Return Request",
            "Starts a return for an order",
            "POST",
            {req("order_id"), req("reason", "return_reason")},
            "",
            {},
            {"return order {order_id} because it is {reason}", "start a return for order {order_id}, it is {reason}"},
            {}},
           {"Gift Finder",
            "Suggests gifts within a budget",
            "GET",
            {req("recipient", "relation"), req("max_price")},
            "product",
            {},
            {"suggest a gift for {recipient} under ${max_price}", "find gift ideas for {recipient} below ${max_price}"},
            {}},
           {"Coupon Finder",
            "Finds discount codes for a store",
            "GET",
            {req("store")},
            "text",
            {},
            {"find coupons for {store}", "look for a discount code for {store}"},
            {}},
           {"Product Reviews",
            "Summarizes reviews of a product",
            "GET",
            {opt("product")},
            "text",
            {"product"},
            {"summarize the reviews of {product}", "tell me what buyers think of {product}"},
            {"summarize its reviews", "check what buyers say about it"}},
           {"Wishlist",
            "Saves a product to a wishlist",
            "POST",
            {opt("product")},
            "",
            {"product"},
            {"save {product} to my wishlist", "add {product} to my wishlist"},
            {"save it to my wishlist", "put it on my wishlist"}},
           {"Price Compare",
            "Compares prices across stores",
            "GET",
            {req("product")},
            "product",
            {},
            {"compare prices for {product}", "find the cheapest store for {product}"},
            {}},
       }});
  d.push_back({{"maps", "rest_api", "getting around"},
               {
                   {"Route Planner",
                    "Directions between two places",
                    "GET",
                    {req("origin", "place_from"), req("destination", "place"), opt("mode")},
                    "route",
                    {},
                    {"get directions from {origin} to {destination}",
                     "find the best {mode} route from {origin} to {destination}"},
                    {}},
                   {"Nearby Places",
                    "Finds places of a kind in a city",
                    "GET",
                    {req("type", "poi"), req("city")},
                    "place",
                    {},
                    {"find the nearest {type} in {city}", "look for a {type} near the center of {city}"},
                    {}},
                   {"Traffic Report",
                    "Live traffic for a city",
                    "GET",
                    {req("city")},
                    "text",
                    {},
                    {"check the traffic in {city}", "tell me how bad the traffic is in {city} right now"},
                    {}},
                   {"Ride Hailing",
                    "Orders a taxi ride",
                    "POST",
                    {req("pickup", "address", "Pick-up address"), opt("destination", "place")},
                    "booking",
                    {"place", "restaurant", "hotel"},
                    {"order a taxi from {pickup} to {destination}", "get me a ride from {pickup} to {destination}"},
                    {"get me a taxi there from {pickup}", "book a ride there from {pickup}"}},
                   {"Parking Finder",
                    "Finds parking near a place",
                    "GET",
                    {opt("place")},
                    "place",
                    {"place", "restaurant", "hotel"},
                    {"find parking near {place}", "look for a parking spot close to {place}"},
                    {"find parking near it", "look for parking close by"}},
                   {"Transit Schedule",
                    "Next public transit departures from a stop",
                    "GET",
                    {req("stop", "place")},
                    "text",
                    {},
                    {"show the next departures from {stop}", "tell me when the next bus leaves from {stop}"},
                    {}},
                   {"Travel Time",
                    "Estimates travel time between two places",
                    "GET",
                    {req("origin", "place_from"), req("destination", "place"), opt("mode")},
                    "text",
                    {},
                    {"tell me how long it takes to get from {origin} to {destination}",
                     "estimate the {mode} time from {origin} to {destination}"},
                    {}},
                   {"Address Geocoder",
                    "Turns an address into coordinates",
                    "GET",
                    {req("address")},
                    "text",
                    {},
                    {"get the coordinates of {address}", "geocode {address}"},
                    {}},
                   {"EV Charger Finder",
                    "Finds EV charging stations in a city",
                    "GET",
                    {req("city")},
                    "place",
                    {},
                    {"find EV chargers in {city}", "find somewhere to charge my electric car in {city}"},
                    {}},
                   {"Bike Share",
                    "Rents a shared bike at a station",
                    "POST",
                    {req("station", "place")},
                    "",
                    {},
                    {"unlock a shared bike at {station}", "rent a bike at {station}"},
                    {}},
                   {"Location Share",
                    "Shares your live location with a contact",
                    "POST",
                    {req("contact", "person"), opt("minutes", "", "How long to share")},
                    "",
                    {},
                    {"share my location with {contact}", "share my live location with {contact} for {minutes} minutes"},
                    {}},
               }});
  d.push_back(
      {{"music", "rest_api", "music"},
       {
           {"Music Player",
            "Plays music by an artist",
            "POST",
            {req("artist")},
            "",
            {},
            {"play some {artist}", "put on {artist}"},
            {}},
           {"Genre Radio",
            "Starts a radio station for a genre",
            "POST",
            {req("genre")},
            "",
            {},
            {"start a {genre} radio station", "play {genre} radio"},
            {}},
           {"Playlist Creator",
            "Creates a playlist",
            "POST",
            {req("name", "playlist", "Playlist name")},
            "playlist",
            {},
            {"create a playlist called '{name}'", "make a new playlist named '{name}'"},
            {}},
           {"Playlist Add",
            "Adds an artist's songs to a playlist",
            "POST",
            {req("artist"), opt("playlist")},
            "playlist",
            {"playlist"},
            {"add {artist} songs to my '{playlist}' playlist", "put some {artist} tracks on my '{playlist}' playlist"},
            {"add some {artist} songs to it", "fill it with {artist} tracks"}},
           {"Concert Finder",
            "Finds concerts by artist and city",
            "GET",
            {req("artist"), req("city")},
            "show",
            {},
            {"find {artist} concerts in {city}", "check if {artist} is playing in {city}"},
            {}},
           {"Event Tickets",
            "Buys tickets for a show",
            "POST",
            {req("quantity"), opt("artist")},
            "booking",
            {"show"},
            {"buy {quantity} tickets for the {artist} show", "get {quantity} tickets to see {artist}"},
            {"buy {quantity} tickets for it", "get {quantity} tickets for that show"}},
           {"Lyrics Finder",
            "Finds the lyrics of a song",
            "GET",
            {req("song")},
            "text",
            {},
            {"show me the lyrics of '{song}'", "find the lyrics to '{song}'"},
            {}},
           {"Podcast Search",
            "Finds podcasts on a topic",
            "GET",
            {req("topic")},
            "text",
            {},
            {"find a podcast about {topic}", "recommend podcasts on {topic}"},
            {}},
           {"Sleep Timer",
            "Stops the music after a while",
            "POST",
            {req("minutes")},
            "",
            {},
            {"stop the music in {minutes} minutes", "set a sleep timer for {minutes} minutes"},
            {}},
           {"Artist Info",
            "Short biography of an artist",
            "GET",
            {req("artist")},
            "text",
            {},
            {"tell me about {artist}", "get a short bio of {artist}"},
            {}},
           {"Audiobook Player",
            "Plays an audiobook",
            "POST",
            {req("title", "book", "Book title")},
            "",
            {},
            {"play the audiobook of '{title}'", "continue listening to '{title}'"},
            {}},
       }});
  d.push_back({{"news", "rest_api", "the news"},
               {
                   {"News Search",
                    "Searches news articles on a topic",
                    "GET",
                    {req("topic")},
                    "article",
                    {},
                    {"find news about {topic}", "get the latest articles on {topic}"},
                    {}},
                   {"Headlines",
                    "Top headlines for a country",
                    "GET",
                    {req("country")},
                    "article",
                    {},
                    {"show me the top headlines in {country}", "get today's headlines from {country}"},
                    {}},
                   {"Article Summarizer",
                    "Summarizes news articles",
                    "POST",
                    {req("sentences")},
                    "summary",
                    {"article"},
                    {},
                    {"summarize them in {sentences} sentences", "give me a {sentences}-sentence summary"}},
                   {"Sports Scores",
                    "Latest scores for a team",
                    "GET",
                    {req("team")},
                    "text",
                    {},
                    {"get the latest score for {team}", "tell me how {team} did in their last game"},
                    {}},
                   {"Topic Alerts",
                    "Daily news alerts on a topic",
                    "POST",
                    {req("topic")},
                    "",
                    {},
                    {"send me daily news alerts about {topic}", "follow {topic} and alert me every day"},
                    {}},
                   {"Fact Checker",
                    "Checks a claim against sources",
                    "POST",
                    {req("claim")},
                    "text",
                    {},
                    {"fact-check the claim that {claim}", "check whether it's true that {claim}"},
                    {}},
                   {"Market News",
                    "News about a stock",
                    "GET",
                    {req("ticker")},
                    "article",
                    {},
                    {"get the latest news on {ticker}", "find recent headlines about {ticker}"},
                    {}},
                   {"Local News",
                    "Local news for a city",
                    "GET",
                    {req("city")},
                    "article",
                    {},
                    {"show local news for {city}", "tell me what's happening in {city} today"},
                    {}},
                   {"Trending Topics",
                    "What is trending in a country",
                    "GET",
                    {req("country")},
                    "text",
                    {},
                    {"show what's trending in {country}", "tell me the trending topics in {country}"},
                    {}},
                   {"Read Later",
                    "Saves articles to a reading list",
                    "POST",
                    {req("folder")},
                    "",
                    {"article"},
                    {},
                    {"save them to my {folder} reading list", "put them in my '{folder}' folder to read later"}},
                   {"Election Results",
                    "Latest election results for a country",
                    "GET",
                    {req("country")},
                    "text",
                    {},
                    {"show the latest election results in {country}", "get the election results for {country}"},
                    {}},
               }});
  d.push_back({{"language", "rest_api", "languages"},
               {
                   {"Text Translator",
                    "Translates text into a language",
                    "POST",
                    {req("target_language", "language"), opt("text")},
                    "text",
                    {"text", "summary", "recipe", "article"},
                    {"translate '{text}' into {target_language}", "tell me how to say '{text}' in {target_language}"},
                    {"translate it into {target_language}", "have it translated to {target_language}"}},
                   {"Language Detector",
                    "Detects the language of a text",
                    "POST",
                    {req("text")},
                    "text",
                    {},
                    {"detect the language of '{text}'", "tell me what language '{text}' is in"},
                    {}},
                   {"Dictionary",
                    "Definition of a word",
                    "GET",
                    {req("word")},
                    "text",
                    {},
                    {"define the word '{word}'", "tell me what '{word}' means"},
                    {}},
                   {"Grammar Checker",
                    "Fixes the grammar of a text",
                    "POST",
                    {req("text", "bad_sentence")},
                    "text",
                    {},
                    {"check the grammar of '{text}'", "correct this sentence: '{text}'"},
                    {}},
                   {"Pronunciation Guide",
                    "Shows how to pronounce a word",
                    "GET",
                    {req("word")},
                    "text",
                    {},
                    {"show me how to pronounce '{word}'", "tell me how '{word}' is pronounced"},
                    {}},
                   {"Synonym Finder",
                    "Synonyms for a word",
                    "GET",
                    {req("word")},
                    "text",
                    {},
                    {"give me synonyms for '{word}'", "find other words for '{word}'"},
                    {}},
                   {"Document Translator",
                    "Translates a document file",
                    "POST",
                    {req("target_language", "language"), opt("file")},
                    "document",
                    {"document"},
                    {"translate {file} into {target_language}", "get {file} translated to {target_language}"},
                    {"translate the document into {target_language}", "get it translated into {target_language}"}},
                   {"Phrasebook",
                    "Common travel phrases in a language",
                    "GET",
                    {req("language")},
                    "text",
                    {},
                    {"give me basic travel phrases in {language}", "teach me a few common phrases in {language}"},
                    {}},
                   {"Language Lessons",
                    "Books a lesson with a language tutor",
                    "POST",
                    {req("language"), req("date"), req("time")},
                    "booking",
                    {},
                    {"book a {language} lesson on {date} at {time}",
                     "schedule a {language} class with a tutor on {date} at {time}"},
                    {}},
                   {"Speech to Text",
                    "Transcribes an audio file",
                    "POST",
                    {req("file", "audio_file")},
                    "text",
                    {},
                    {"transcribe {file}", "turn the recording {file} into text"},
                    {}},
                   {"Text to Speech",
                    "Reads text aloud",
                    "POST",
                    {opt("voice"), opt("text")},
                    "",
                    {"text", "summary", "article"},
                    {"read '{text}' out loud", "read '{text}' aloud in a {voice} voice"},
                    {"read it aloud", "read it to me in a {voice} voice"}},
               }});
  d.push_back({{"smart_home", "iot_hub", "the house"},
               {
                   {"Smart Lights",
                    "Turns the lights in a room on or off",
                    "POST",
                    {req("room"), req("state", "on_off")},
                    "",
                    {},
                    {"turn {state} the lights in the {room}", "switch the {room} lights {state}"},
                    {}},
                   {"Light Dimmer",
                    "Sets the brightness of the lights",
                    "POST",
                    {req("room"), req("brightness")},
                    "",
                    {},
                    {"dim the {room} lights to {brightness}%", "set the {room} lights to {brightness} percent"},
                    {}},
                   {"Thermostat",
                    "Sets the heating temperature",
                    "POST",
                    {req("temperature"), opt("room")},
                    "",
                    {},
                    {"set the thermostat to {temperature} degrees", "heat the {room} to {temperature} degrees"},
                    {}},
                   {"Door Lock",
                    "Locks or unlocks a door",
                    "POST",
                    {req("door"), req("action", "lock_action")},
                    "",
                    {},
                    {"make sure to {action} the {door}", "go and {action} the {door}"},
                    {}},
                   {"Security Camera",
                    "Shows a security camera feed",
                    "GET",
                    {req("camera")},
                    "",
                    {},
                    {"show me the {camera} camera", "check the {camera} camera feed"},
                    {}},
                   {"Robot Vacuum",
                    "Runs the robot vacuum in a room",
                    "POST",
                    {req("room")},
                    "",
                    {},
                    {"vacuum the {room}", "start the robot vacuum in the {room}"},
                    {}},
                   {"Scene Activator",
                    "Activates a home scene",
                    "POST",
                    {req("scene")},
                    "",
                    {},
                    {"activate the '{scene}' scene", "switch the house to {scene} mode"},
                    {}},
                   {"Smart Plug",
                    "Switches a plugged-in appliance on or off",
                    "POST",
                    {req("device", "appliance"), req("state", "on_off")},
                    "",
                    {},
                    {"turn {state} the {device}", "switch the {device} {state}"},
                    {}},
                   {"Blinds Control",
                    "Opens or closes the blinds in a room",
                    "POST",
                    {req("room"), req("position", "blinds_position")},
                    "",
                    {},
                    {"set the blinds in the {room} to {position}", "set the {room} blinds to {position}"},
                    {}},
                   {"Energy Monitor",
                    "Shows home energy usage",
                    "GET",
                    {req("period")},
                    "text",
                    {},
                    {"show my energy usage for {period}", "tell me how much power we used {period}"},
                    {}},
                   {"Garden Sprinkler",
                    "Waters the garden",
                    "POST",
                    {req("minutes")},
                    "",
                    {},
                    {"water the garden for {minutes} minutes", "run the sprinklers for {minutes} minutes"},
                    {}},
               }});
  d.push_back(
      {{"health", "rest_api", "my health"},
       {
           {"Symptom Checker",
            "Suggests possible causes of a symptom",
            "POST",
            {req("symptom"), opt("days", "", "How many days it has lasted")},
            "text",
            {},
            {"check what could be causing my {symptom}", "check my symptoms: {symptom} for {days} days"},
            {}},
           {"Doctor Finder",
            "Finds doctors by specialty and city",
            "GET",
            {req("specialty"), req("city")},
            "doctor",
            {},
            {"find a {specialty} in {city}", "look for a good {specialty} in {city}"},
            {}},
           {"Appointment Booking",
            "Books a doctor's appointment",
            "POST",
            {req("date"), req("time"), opt("doctor")},
            "booking",
            {"doctor"},
            {"book an appointment with {doctor} on {date} at {time}", "see if {doctor} can see me on {date} at {time}"},
            {"book an appointment with them on {date} at {time}", "make an appointment there for {date} at {time}"}},
           {"Medication Reminder",
            "Reminds you to take a medication",
            "POST",
            {req("medication"), req("time")},
            "",
            {},
            {"remind me to take {medication} at {time}", "set a reminder for my {medication} at {time}"},
            {}},
           {"Pharmacy Refill",
            "Requests a prescription refill",
            "POST",
            {req("medication")},
            "order",
            {},
            {"refill my {medication} prescription", "order a refill of {medication}"},
            {}},
           {"Drug Interactions",
            "Checks whether two medications interact",
            "GET",
            {req("drug_a", "medication", "First medication"), req("drug_b", "medication2", "Second medication")},
            "text",
            {},
            {"check if {drug_a} interacts with {drug_b}", "tell me if it's safe to take {drug_a} with {drug_b}"},
            {}},
           {"Sleep Tracker",
            "Sleep report for a night",
            "GET",
            {req("date")},
            "text",
            {},
            {"show my sleep data for {date}", "tell me how well I slept on {date}"},
            {}},
           {"Heart Rate Monitor",
            "Heart rate history",
            "GET",
            {req("period")},
            "text",
            {},
            {"show my heart rate for {period}", "get my heart rate readings for {period}"},
            {}},
           {"Lab Results",
            "Retrieves medical lab results",
            "GET",
            {req("test", "lab_test")},
            "document",
            {},
            {"get my latest {test} results", "show the results of my {test}"},
            {}},
           {"Meditation Guide",
            "Starts a guided meditation",
            "POST",
            {req("minutes"), opt("focus", "meditation_focus")},
            "",
            {},
            {"start a {minutes}-minute meditation", "start a {minutes}-minute meditation for {focus}"},
            {}},
           {"Mood Journal",
            "Logs today's mood",
            "POST",
            {req("mood")},
            "",
            {},
            {"log my mood as {mood}", "note in my journal that I feel {mood} today"},
            {}},
       }});
  d.push_back({{"documents", "drive_api", "my documents"},
               {
                   {"Doc Creator",
                    "Creates a new document",
                    "POST",
                    {req("title", "doc_title")},
                    "document",
                    {"text", "summary"},
                    {"create a document called '{title}'", "start a new doc named '{title}'"},
                    {"put it in a new document called '{title}'", "save the results as a doc named '{title}'"}},
                   {"File Search",
                    "Finds files by name",
                    "GET",
                    {req("query", "file")},
                    "document",
                    {},
                    {"find the file {query}", "search my drive for {query}"},
                    {}},
                   {"PDF Converter",
                    "Converts a document to PDF",
                    "POST",
                    {opt("file")},
                    "document",
                    {"document"},
                    {"convert {file} to PDF", "turn {file} into a PDF"},
                    {"convert it to PDF", "turn it into a PDF"}},
                   {"File Share",
                    "Shares a file with someone by email",
                    "POST",
                    {req("email"), opt("file")},
                    "",
                    {"document"},
                    {"share {file} with {email}", "give {email} access to {file}"},
                    {"share it with {email}", "give {email} access to it"}},
                   {"Cloud Backup",
                    "Backs up a folder to the cloud",
                    "POST",
                    {req("folder")},
                    "",
                    {},
                    {"back up my {folder} folder", "upload the {folder} folder to the cloud"},
                    {}},
                   {"Doc Summarizer",
                    "Summarizes a document in bullet points",
                    "POST",
                    {req("points", "bullet_points", "Number of bullet points"), opt("file")},
                    "summary",
                    {"document"},
                    {"summarize {file} in {points} bullet points", "give me {points} bullet points on {file}"},
                    {"summarize it in {points} bullet points", "boil it down to {points} bullet points"}},
                   {"Spreadsheet Reader",
                    "Reads a range of cells from a spreadsheet",
                    "GET",
                    {req("file", "spreadsheet"), req("range", "cell_range")},
                    "text",
                    {},
                    {"read cells {range} from {file}", "get the values in {range} of {file}"},
                    {}},
                   {"E-Signature",
                    "Sends a document for signature",
                    "POST",
                    {req("email"), opt("file")},
                    "",
                    {"document"},
                    {"send {file} to {email} for signature", "get {email} to sign {file}"},
                    {"send it to {email} for signature", "get {email} to sign it"}},
                   {"Invoice Creator",
                    "Creates an invoice for a client",
                    "POST",
                    {req("client", "person"), req("amount")},
                    "document",
                    {},
                    {"create an invoice for {client} for ${amount}", "bill {client} ${amount}"},
                    {}},
                   {"Note Taker",
                    "Saves a note",
                    "POST",
                    {opt("text", "note"), opt("title", "doc_title")},
                    "",
                    {"*"},
                    {"save a note saying '{text}'", "make a note: '{text}'"},
                    {"save it as a note titled '{title}'", "save it in my notes"}},
                   {"Printer",
                    "Prints a document",
                    "POST",
                    {req("copies"), opt("file")},
                    "",
                    {"document"},
                    {"print {copies} copies of {file}", "print {file}, {copies} copies"},
                    {"print {copies} copies of it", "print it, {copies} copies"}},
               }});
  d.push_back({{"entertainment", "rest_api", "a night out"},
               {
                   {"Movie Showtimes",
                    "Showtimes for a movie in a city",
                    "GET",
                    {req("movie"), req("city")},
                    "showtime",
                    {},
                    {"find showtimes for {movie} in {city}", "check when {movie} is playing in {city}"},
                    {}},
                   {"Cinema Tickets",
                    "Buys cinema tickets",
                    "POST",
                    {req("seats"), opt("movie")},
                    "booking",
                    {"showtime"},
                    {"buy {seats} cinema tickets for {movie}", "get {seats} cinema seats for {movie}"},
                    {"book {seats} cinema seats for it", "get {seats} seats for that showing"}},
                   {"Movie Recommendations",
                    "Recommends movies by genre",
                    "GET",
                    {req("genre", "movie_genre")},
                    "text",
                    {},
                    {"recommend a good {genre} movie", "suggest some {genre} films"},
                    {}},
                   {"Streaming Search",
                    "Finds where to stream a title",
                    "GET",
                    {req("title", "movie")},
                    "text",
                    {},
                    {"find where I can stream {title}", "check which service has {title}"},
                    {}},
                   {"Watchlist",
                    "Adds a title to a watchlist",
                    "POST",
                    {req("title", "movie")},
                    "",
                    {},
                    {"add {title} to my watchlist", "put {title} on my watchlist"},
                    {}},
                   {"Book Finder",
                    "Finds books on a topic",
                    "GET",
                    {req("topic")},
                    "text",
                    {},
                    {"find books about {topic}", "recommend a book on {topic}"},
                    {}},
                   {"Event Finder",
                    "Finds local events on a date",
                    "GET",
                    {req("city"), req("date")},
                    "show",
                    {},
                    {"find things to do in {city} on {date}", "look for events in {city} on {date}"},
                    {}},
                   {"Trivia Quiz",
                    "Starts a trivia quiz",
                    "POST",
                    {req("category", "trivia_category"), req("questions")},
                    "",
                    {},
                    {"start a {questions}-question {category} quiz", "quiz me with {questions} {category} questions"},
                    {}},
                   {"Museum Tickets",
                    "Books museum entry tickets",
                    "POST",
                    {req("city"), req("date"), req("quantity")},
                    "booking",
                    {},
                    {"book {quantity} museum tickets in {city} for {date}",
                     "get {quantity} tickets for a museum in {city} on {date}"},
                    {}},
               }});
  return d;
}

// FNV-1a: stable across platforms and runs, unlike std::hash.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

[[noreturn]] void broken(const std::string& what) { throw std::logic_error("synth catalog: " + what); }

// The holes of a phrasing, in order.
std::vector<std::string> holes(const std::string& phrasing) {
  std::vector<std::string> out;
  for (std::size_t open = phrasing.find('{'); open != std::string::npos; open = phrasing.find('{', open + 1)) {
    std::size_t close = phrasing.find('}', open);
    if (close == std::string::npos) broken("unclosed '{' in \"" + phrasing + "\"");
    out.push_back(phrasing.substr(open + 1, close - open - 1));
  }
  return out;
}

void check_slot(const Slot& s) {
  const bool generated = s.name == "date" || s.name == "end_date";
  if (s.values.empty() != generated) broken("slot '" + s.name + "' needs values");
  if ((s.type == ParamType::boolean) == s.cue.empty())
    broken("slot '" + s.name + "': booleans, and only they, have a cue");
  for (const auto& v : s.values) {
    bool typed = (s.type == ParamType::string && v.is_string()) ||
                 (s.type == ParamType::integer && v.is_number_integer()) ||
                 (s.type == ParamType::number && v.is_number()) || (s.type == ParamType::boolean && v.is_boolean());
    if (!typed) broken("slot '" + s.name + "' value " + v.dump() + " is not a " + std::string(type_name(s.type)));
    // Cleaning would drop a plan carrying this value.
    if (!value_hydrated(v)) broken("slot '" + s.name + "' value " + v.dump() + " breaks the §1.3 value rules");
  }
}

const Slot* find_slot(const std::vector<Slot>& slots, std::string_view name) {
  auto it = std::find_if(slots.begin(), slots.end(), [&](const Slot& s) { return s.name == name; });
  return it == slots.end() ? nullptr : &*it;
}

void check_plugin(const Plugin& p, const std::vector<Slot>& slots) {
  std::set<std::string> names;
  for (const auto& prm : p.params) {
    if (!names.insert(prm.name).second) broken(p.name + ": parameter '" + prm.name + "' twice");
    if (!find_slot(slots, prm.slot_name())) broken(p.name + ": no slot named " + prm.slot_name());
  }
  if (p.clauses.empty() && p.follow_ups.empty()) broken(p.name + ": no phrasing");
  if (p.takes.empty() != p.follow_ups.empty()) broken(p.name + ": follow-ups go with something to take");
  for (const auto* phrasings : {&p.clauses, &p.follow_ups})
    for (const auto& phrasing : *phrasings) {
      // A request may start with the phrasing, and capitalizing it must not change a value.
      if (phrasing.empty() || phrasing.front() == '{') broken(p.name + ": \"" + phrasing + "\" starts with a hole");
      auto hs = holes(phrasing);
      std::set<std::string> seen;
      for (const auto& h : hs) {
        if (!names.count(h)) broken(p.name + ": \"" + phrasing + "\" has a hole for no parameter: " + h);
        if (!seen.insert(h).second) broken(p.name + ": \"" + phrasing + "\" fills " + h + " twice");
      }
      for (const auto& prm : p.params)
        if (prm.required && !seen.count(prm.name))
          broken(p.name + ": \"" + phrasing + "\" leaves out required " + prm.name);
    }
}

struct Catalog {
  std::vector<Slot> slots;
  std::vector<Domain> domains;
  std::vector<Plugin> plugins;
};

const Catalog& the_catalog() {
  static const Catalog c = [] {
    Catalog c;
    c.slots = build_slots();
    for (const auto& s : c.slots) check_slot(s);
    std::set<std::string> ids, names;
    for (auto& spec : build_specs()) {
      for (auto& ps : spec.plugins) {
        Plugin p{"plugin-" + std::to_string(1700000000 + fnv1a(ps.name) % 100000000),
                 ps.name,
                 ps.description,
                 spec.domain.identifier,
                 ps.method,
                 spec.domain.name,
                 std::move(ps.params),
                 ps.makes,
                 std::move(ps.takes),
                 std::move(ps.clauses),
                 std::move(ps.follow_ups)};
        if (!names.insert(p.name).second) broken("two plugins named " + p.name);
        if (!ids.insert(p.id).second) broken(p.name + ": pluginId " + p.id + " is taken");
        check_plugin(p, c.slots);
        c.plugins.push_back(std::move(p));
      }
      c.domains.push_back(spec.domain);
    }
    // A follow-up is only reachable after a step that makes what it takes; a typo in either would hide it.
    std::set<std::string> made;
    for (const auto& p : c.plugins) made.insert(p.makes);
    for (const auto& p : c.plugins)
      for (const auto& t : p.takes)
        if (t != "*" && !made.count(t)) broken(p.name + " takes '" + t + "', which no plugin makes");
    return c;
  }();
  return c;
}

}  // namespace

std::string_view type_name(ParamType t) {
  switch (t) {
    case ParamType::string:
      return "string";
    case ParamType::integer:
      return "integer";
    case ParamType::number:
      return "number";
    case ParamType::boolean:
      return "boolean";
  }
  return "?";
}

bool Plugin::accepts(std::string_view artifact) const {
  if (artifact.empty()) return false;
  return std::any_of(takes.begin(), takes.end(), [&](const std::string& t) { return t == "*" || t == artifact; });
}

const Param& Plugin::param(std::string_view n) const {
  auto it = std::find_if(params.begin(), params.end(), [&](const Param& p) { return p.name == n; });
  if (it == params.end()) broken(name + " has no parameter " + std::string(n));
  return *it;
}

json Plugin::parameters_json(bool with_descriptions) const {
  json out = json::object();
  for (const auto& p : params) {
    const Slot& s = slot(p.slot_name());
    json j = {{"type", type_name(s.type)}, {"required", p.required}};
    if (with_descriptions) j["description"] = p.description.empty() ? s.description : p.description;
    out[p.name] = std::move(j);
  }
  return out;
}

const std::vector<Domain>& domains() { return the_catalog().domains; }

const std::vector<Plugin>& catalog() { return the_catalog().plugins; }

const Slot& slot(std::string_view name) {
  const Slot* s = find_slot(the_catalog().slots, name);
  if (!s) broken("no slot named " + std::string(name));
  return *s;
}

std::string value_text(const Slot& s, const json& value) {
  if (value.is_boolean()) return s.cue;
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace gt::data::synth
