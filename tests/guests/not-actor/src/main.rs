//! A plain WASI command: `foundation check` must reject it as "not an actor".

fn main() {
    println!("not an actor");
}
