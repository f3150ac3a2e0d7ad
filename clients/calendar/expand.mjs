// Reads an iCalendar feed on stdin and prints, as JSON, every occurrence of every VEVENT between
// argv[2] and argv[3] (ISO dates), expanded as a calendar app does (RRULE, EXDATE, overrides,
// VTIMEZONE): [{uid, start: "YYYY-MM-DDTHH:MM", zone, utc}] in local wall-clock time.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const root = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));
for (const zone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
const from = ICAL.Time.fromDateString(process.argv[2]);
const until = ICAL.Time.fromDateString(process.argv[3]);
const masters = new Map();
const overrides = [];
for (const vevent of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent);
  if (event.isRecurrenceException()) overrides.push(event);
  else masters.set(event.uid, event);
}
for (const event of overrides) masters.get(event.uid)?.relateException(event);
const found = [];
for (const event of masters.values()) {
  const it = event.iterator();
  for (let next = it.next(); next && next.compare(until) < 0; next = it.next()) {
    if (next.compare(from) < 0) continue;
    const details = event.getOccurrenceDetails(next);
    const start = details.startDate;
    found.push({
      uid: event.uid,
      start: `${start.toString().slice(0, 16)}`,
      zone: start.zone ? start.zone.tzid : null,
      utc: start.toJSDate().toISOString(),
    });
  }
}
found.sort((a, b) => a.utc.localeCompare(b.utc));
process.stdout.write(JSON.stringify(found));
