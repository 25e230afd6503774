//! Maps one HL7 v2 file with a mappings directory and prints the resources, one JSON per line:
//! `cargo run -p hl7v2-fhir --example map -- mappings FILE.hl7`. For trying a mapping change.

use std::path::Path;

struct PlainIds;

impl hl7v2_fhir::IdMaker for PlainIds {
    fn make_id(&self, resource_type: &str, parts: &[&str]) -> String {
        // Readable ids for trying mappings; the bridge uses a keyed hash instead.
        let text: String =
            parts.join("-").chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(60).collect();
        format!("{}-{}", resource_type.to_lowercase(), if text.is_empty() { "x".into() } else { text })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, file] = args.as_slice() else {
        return Err("usage: map MAPPINGS_DIR FILE.hl7".into());
    };
    let mappings = hl7v2_fhir::Mappings::load(Path::new(dir))?;
    let text = std::fs::read_to_string(file)?;
    for chunk in hl7v2::split_messages(&text) {
        let message = hl7v2::Message::parse(chunk)?;
        let mapped = mappings.map(&message, &PlainIds)?;
        for resource in mapped.resources {
            println!("{}", resource.json);
        }
    }
    Ok(())
}
