//! Embeds the console's templates in the binary at build time.

fn main() {
    minijinja_embed::embed_templates!("templates");
}
