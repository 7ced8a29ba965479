//! The template environment against Jinja2 3.1 and managed-tenants-cli.
//! Each expected output is what Jinja2 3.1 (the version of mtcli's golden
//! outputs) renders in the environment mtcli's `core/addons_loader/sss.py`
//! builds (`StrictUndefined`, `trim_blocks`, `lstrip_blocks`, the add-on's
//! metadata folder on the loader's path, `merge_dicts`), worked out from
//! Jinja2's documentation and code (`jinja2/filters.py`, `lexer.py`,
//! `parser.py`) and Python's; the comment on each says which part.

use super::*;

/// An add-on read from YAML, so its mappings keep their file order: the
/// minimal one with a second namespace, labels out of order, and the fields
/// the templates below read.
fn addon_yaml() -> String {
    let minimal = crate::testing::MINIMAL_ADDON_YAML
        .replace(
            "namespaces: [redhat-my-addon]",
            "namespaces: [redhat-my-addon, redhat-other]",
        )
        .replace(
            "namespaceLabels: {}",
            "namespaceLabels: {zeta: \"1\", alpha: \"2\"}",
        );
    minimal + ADDON_EXTRA
}

/// What [`addon_yaml`] adds after the minimal add-on's fields.
const ADDON_EXTRA: &str = "indexImage: quay.io/osd-addons/my-addon-index@sha256:1
config:
  env:
    - value: debug
      name: LOG
pagerduty:
  secretNamespace: redhat-my-addon
  escalationPolicy: PABC
  acknowledgeTimeout: 21600
  resolveTimeout: 0
  secretName: pd
";

fn document() -> AddonDocument {
    let loaded = crate::model::document::load(
        crate::cli::io::Source::from_text(crate::cli::io::Origin::Stdin, addon_yaml()),
        &Default::default(),
    )
    .unwrap();
    assert!(!loaded.has_errors(), "{:?}", loaded.findings);
    loaded.document.unwrap()
}

fn files(list: &[(&str, &str)]) -> Arc<dyn TemplateFiles> {
    Arc::new(
        list.iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect::<BTreeMap<String, String>>(),
    )
}

fn render_with(text: &str, more: &[(&str, &str)]) -> Result<String, TemplateError> {
    let mut list = vec![("extra.yaml.j2", text)];
    list.extend_from_slice(more);
    render_extra_resource("extra.yaml.j2", files(&list), &document()).map(|r| r.text)
}

fn render(text: &str) -> Result<String, TemplateError> {
    render_with(text, &[])
}

fn ok(text: &str) -> String {
    render(text).unwrap_or_else(|err| panic!("{text:?}: {err}"))
}

fn err(text: &str) -> TemplateError {
    match render(text) {
        Ok(out) => panic!("{text:?} rendered {out:?}"),
        Err(err) => err,
    }
}

#[test]
fn a_block_tag_on_its_own_line_leaves_nothing_behind() {
    // trim_blocks drops the newline after a block or comment tag,
    // lstrip_blocks the spaces before one on its own line (Jinja2
    // "Whitespace Control"); one trailing newline is dropped
    // (keep_trailing_newline=False).
    let script =
        "data:\n  script: |\n    #!/bin/sh\n    {% for ns in ADDON.metadata.namespaces %}\n    \
                  echo {{ ns }}\n    {% endfor %}\n  {# a comment #}\n  x: 1\n";
    assert_eq!(
        ok(script),
        "data:\n  script: |\n    #!/bin/sh\n    echo redhat-my-addon\n    echo redhat-other\n  x: 1"
    );
    assert_eq!(
        ok("  {% if true %}\n  indented\n  {% endif %}\nline\n{%- if true %}\n glued\n{% endif %}\n\
            {{ 'x' }}\n   {{ 'y' }}"),
        "  indented\nline glued\nx\n   y"
    );
    // `+` turns lstrip/trim off for one tag; a variable tag is never stripped.
    assert_eq!(
        ok("  {%+ if true %}keep{% endif +%}\n  next"),
        "  keep\n  next"
    );
    // Jinja2's lexer trims after {% endraw %} but not after {% raw %}.
    assert_eq!(
        ok("x {% raw %}{{ y }}{% endraw %}\n  {% raw %}\n{{z}}\n  {% endraw %}\nq"),
        "x {{ y }}\n{{z}}\nq"
    );
    // \r\n is a line break like \n (the lexer's newline_re).
    assert_eq!(ok("a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n"), "a\nb\n");
}

#[test]
fn an_undefined_value_is_an_error_with_its_line() {
    // StrictUndefined: printing, testing for truth, comparing or iterating
    // an undefined value raises UndefinedError; a typo'd key is one.
    for (text, line) in [
        ("a: 1\nb: {{ ADDON.metadata['lable'] }}", 2),
        ("{% if ADDON.metadata.nope %}x{% endif %}", 1),
        ("\n\n{% if nope %}x{% endif %}", 3),
        ("{{ ADDON.metadata.namespaces[5] }}", 1),
        ("{% for x in nope %}{% endfor %}", 1),
        ("{{ ADDON.metadata.nope == 1 }}", 1),
        ("{{ ADDON.nope }}", 1),
    ] {
        let error = err(text);
        assert_eq!(error.line, Some(line), "{text:?}: {error}");
        assert!(error.message.contains("undefined"), "{text:?}: {error}");
        assert_eq!(error.template, None);
    }
    // What StrictUndefined allows: `is defined`, `default`, dict.get, `is
    // none`; and `x if c` without else is Jinja2's plain Undefined, which
    // prints nothing.
    assert_eq!(
        ok("{{ ADDON.metadata.get('lable') }} {{ ADDON.metadata.lable is defined }} \
            {{ ADDON.metadata.lable | default('d') }} {{ ADDON.metadata.lable is none }}|{{ 'x' if false }}|"),
        "None False d False||"
    );
}

#[test]
fn mappings_reach_templates_in_file_order() {
    // PyYAML keeps a mapping's keys in file order (Python dicts are
    // ordered), and str() of a dict prints them so.
    assert_eq!(
        ok("{{ ADDON.metadata.namespaceLabels }} {{ ADDON.metadata.config }}\n{{ ADDON.metadata.pagerduty }}"),
        "{'zeta': '1', 'alpha': '2'} {'env': [{'value': 'debug', 'name': 'LOG'}]}\n\
         {'secretNamespace': 'redhat-my-addon', 'escalationPolicy': 'PABC', 'acknowledgeTimeout': 21600, \
         'resolveTimeout': 0, 'secretName': 'pd'}"
    );
    // dict.items() is a dict_items view of tuples; keys() and values() too.
    assert_eq!(
        ok("{{ ADDON.metadata.namespaceLabels.items() }} {{ ADDON.metadata.namespaceLabels.keys() }} \
            {{ ADDON.metadata.namespaceLabels.values() }} {{ ADDON.metadata.namespaceLabels.items() | list }}\n\
            {% for k, v in ADDON.metadata.namespaceLabels.items() %}\n{{ k }}={{ v }}\n{% endfor %}"),
        "dict_items([('zeta', '1'), ('alpha', '2')]) dict_keys(['zeta', 'alpha']) dict_values(['1', '2']) \
         [('zeta', '1'), ('alpha', '2')]\nzeta=1\nalpha=2\n"
    );
    // tojson is json.dumps(sort_keys=True) (Jinja2's json.dumps_kwargs
    // policy) with <, >, & and ' escaped (htmlsafe_json_dumps).
    assert_eq!(
        ok("{{ ADDON.metadata.namespaceLabels | tojson }} {{ \"it's <x> & y\" | tojson }} \
            {{ {'z': [1, 2.5, none, true], 'a': 'é'} | tojson }}\n{{ {'b': {'d': 1, 'c': 2}} | tojson(2) }}"),
        "{\"alpha\": \"2\", \"zeta\": \"1\"} \"it\\u0027s \\u003cx\\u003e \\u0026 y\" \
         {\"a\": \"\\u00e9\", \"z\": [1, 2.5, null, true]}\n{\n  \"b\": {\n    \"c\": 2,\n    \"d\": 1\n  }\n}"
    );
    // dictsort and pprint sort; the `items` filter keeps the order.
    assert_eq!(
        ok("{{ ADDON.metadata.namespaceLabels | dictsort }} {{ ADDON.metadata.namespaceLabels | items | list }} \
            {{ ADDON.metadata.namespaceLabels | pprint }}"),
        "[('alpha', '2'), ('zeta', '1')] [('zeta', '1'), ('alpha', '2')] {'alpha': '2', 'zeta': '1'}"
    );
}

#[test]
fn addon_is_managed_tenants_addon() {
    // core/addons_loader/addon.py: get_envs() is the image set's config env
    // or the metadata's; get_additional_catalog_srcs() and
    // pull_secret_name() are None when nothing is set; name is path.name;
    // __repr__ is Addon('<name>'); the macro's `resource` is the file.
    assert_eq!(
        ok("{{ ADDON.get_envs() }} {{ ADDON.get_additional_catalog_srcs() }} {{ ADDON.pull_secret_name() }} \
            {{ ADDON.get_secrets() }} {{ ADDON.get_config() }} {{ ADDON.get_config(src='metadata') }}\n\
            {{ ADDON.name }} {{ ADDON }} {{ ADDON.catalog_image }} {{ ADDON.imageset }} {{ resource }}"),
        "[{'value': 'debug', 'name': 'LOG'}] None None None {'env': [{'value': 'debug', 'name': 'LOG'}]} \
         {'env': [{'value': 'debug', 'name': 'LOG'}]}\n\
         my-addon Addon('my-addon') quay.io/osd-addons/my-addon-index@sha256:1 None extra.yaml.j2"
    );
    let mut doc = document();
    doc.addon_folder = Some("my-folder".into());
    let rendered = render_extra_resource(
        "x.j2",
        files(&[("x.j2", "{{ ADDON.name }} {{ ADDON.metadata.id }}")]),
        &doc,
    )
    .unwrap();
    assert_eq!(rendered.text, "my-folder my-addon");
}

#[test]
fn values_are_pythons() {
    // do_int: int(value), else int(float(value)), else the default 0.
    assert_eq!(
        ok("{{ 'abc' | int }} {{ '12' | int }} {{ ' 12 ' | int }} {{ '3.7' | int }} {{ 'x' | float }} \
            {{ 3.9 | int }} {{ none | int }} {{ true | int }} {{ 'ff' | int(0, 16) }} {{ '0x1A' | int(base=16) }} \
            {{ 'x' | int('n/a') }} {{ '1e3' | int }} {{ '1_0' | int }} {{ '٣' | int }} {{ 'inf' | float }}"),
        "0 12 12 3 0.0 3 0 1 255 26 n/a 1000 10 3 inf"
    );
    // Python integers have no size; these need more than 64 bits.
    assert_eq!(
        ok("{{ 12345678901234567890 }} {{ 2 ** 64 }} {{ 10 ** 20 }} {{ 9223372036854775807 + 1 }}"),
        "12345678901234567890 18446744073709551616 100000000000000000000 9223372036854775808"
    );
    // repr() escapes what str.isprintable() refuses: U+00A0, U+200B, DEL.
    assert_eq!(
        ok("{{ \"a\\u00a0b\" }} {{ [\"a\\u00a0b\", \"c\\u200bd\", \"e\\x7f\"] }} {{ {'k': \"\\u00e9\"} }}"),
        "a\u{a0}b ['a\\xa0b', 'c\\u200bd', 'e\\x7f'] {'k': 'é'}"
    );
    // float.__repr__, and `~` writes str() of each operand.
    assert_eq!(
        ok("{{ 'x' ~ 1e20 ~ ['a\\u00a0'] ~ none ~ true }} {{ 1e20 }} {{ 1.5e-7 }} {{ 0.1 + 0.2 }} \
            {{ 10 / 4 }} {{ 7 // 2 }} {{ 1.0 }} {{ 1/3 }}"),
        "x1e+20['a\\xa0']NoneTrue 1e+20 1.5e-07 0.30000000000000004 2.5 3 1.0 0.3333333333333333"
    );
    // range() is a range object; tuples print with parentheses.
    assert_eq!(
        ok("{{ range(3) }} {{ range(1, 10, 2) | list }} {{ dict(a=1) }} {{ (1,) }} {{ (1, 'a') }}"),
        "range(0, 3) [1, 3, 5, 7, 9] {'a': 1} (1,) (1, 'a')"
    );
    // Python string literal escapes (the lexer decodes with unicode-escape).
    assert_eq!(ok("{{ 'a\\tb\\x41\\101\\U0001F600' }}"), "a\tbAA\u{1F600}");
}

#[test]
fn a_leading_zero_is_a_syntax_error() {
    // Jinja2's lexer reads `0` then `755`: "expected token 'end of print
    // statement', got 'integer'".
    let error = err("a: 1\nmode: {{ 0755 }}");
    assert_eq!(error.line, Some(2), "{error}");
    assert!(error.message.contains("0755"), "{error}");
}

#[test]
fn percent_formats_strings_and_takes_remainders() {
    // Python's printf-style formatting, and % of numbers with the divisor's sign.
    assert_eq!(
        ok("{{ '%s-x' % ADDON.metadata.id }} {{ '%05.1f|%-4d|%x' % (3.14159, 7, 255) }} {{ '%(a)s' % {'a': 1} }} \
            {{ 10 % 3 }} {{ -7 % 3 }} {{ 7.5 % 2 }} {{ 7 % -3 }} {{ '%d%%' % 50 }} {{ '%s' % [1, 2] }}"),
        "my-addon-x 003.1|7   |ff 1 1 2 1.5 -2 50% [1, 2]"
    );
    // `%` binds like `*`, tighter than `~` and `+`, looser than filters.
    assert_eq!(
        ok("{{ 2 * 3 % 4 }} {{ 2 + 3 % 4 }} {{ '%s' % 'a' ~ 'b' }} {{ '%s' % 'a' | upper }} {{ 10 % 4 % 3 }} \
            {{ '%.2f' % 1 ~ '!' }} {{ '%s' % ADDON.metadata.id | length }}"),
        "2 5 ab A 2 1.00! 8"
    );
    // The format filter is `str(value) % (kwargs or args)`.
    assert_eq!(
        ok("{{ '%s %s' | format('a', 1) }} {{ '%(x)s' | format(x=2) }} {{ '%5.1f%%' | format(99.44) }}"),
        "a 1 2  99.4%"
    );
    assert!(err("{{ '%d' % 'x' }}")
        .message
        .contains("%d format: a real number is required, not str"));
}

#[test]
fn python_string_methods() {
    assert_eq!(
        ok("{{ 'a-b-c'.rsplit('-', 1) }} {{ '5'.zfill(3) }} {{ '-5'.zfill(4) }} {{ 'a b  c'.split() }} \
            {{ 'x'.center(5, '*') }} {{ 'k=v'.partition('=') }} {{ 'abc'.startswith('a') }} \
            {{ '{} {}'.format('x', 1) }} {{ ' a '.strip() }} {{ 'x,y'.split(',') }}"),
        "['a-b', 'c'] 005 -005 ['a', 'b', 'c'] **x** ('k', '=', 'v') True x 1 a ['x', 'y']"
    );
}

#[test]
fn the_filters_of_mtclis_jinja2() {
    // jinja2/filters.py: do_urlencode, do_center, do_truncate (leeway 5),
    // do_wordcount (\w+), do_filesizeformat, do_striptags (MarkupSafe),
    // do_wordwrap (textwrap), do_pprint (pformat), do_xmlattr, do_title.
    assert_eq!(
        ok("{{ 'a b/c' | urlencode }} {{ {'a b': 'c&d'} | urlencode }} {{ 'ab' | center(7) }}| \
            {{ 'hello world foo bar' | truncate(9) }} {{ 'foo bar baz qux' | truncate(9, True) }} \
            {{ 'Hello, my world_1!' | wordcount }} {{ 12345 | filesizeformat }} {{ 1 | filesizeformat }} \
            {{ 1048576 | filesizeformat(true) }} {{ '<b>x</b> &amp; <i>y</i>' | striptags }}"),
        "a%20b/c a+b=c%26d    ab  | hello... foo ba... 3 12.3 kB 1 Byte 1.0 MiB x & y"
    );
    assert_eq!(
        ok("{{ 'aaa bbb ccc ddd' | wordwrap(7) }}\n{{ [1, 'a', none, true] | pprint }} {{ {'b': 1, 'a': [1, 2]} | pprint }}"),
        "aaa bbb\nccc ddd\n[1, 'a', None, True] {'a': [1, 2], 'b': 1}"
    );
    assert_eq!(
        ok("{{ {'a': 1, 'b': 'x'} | xmlattr }} {{ '<a>' | e }} {{ \"'\" | forceescape }} {{ 'hello WORLD-foo(bar' | title }} \
            {{ [1, none] | join('|') }} {{ [1.0, 'a'] | string }}"),
        " a=\"1\" b=\"x\" &lt;a&gt; &#39; Hello World-Foo(Bar 1|None [1.0, 'a']"
    );
    assert_eq!(
        ok("{{ [{'g': 1, 'v': 'a'}, {'g': 1, 'v': 'b'}] | groupby('g') }}"),
        "[(1, [{'g': 1, 'v': 'a'}, {'g': 1, 'v': 'b'}])]"
    );
    // mtcli registers merge_dicts = ChainMap(d1, d2).
    assert_eq!(
        ok("{{ ADDON.metadata.namespaceLabels | merge_dicts({'alpha': 'x', 'new': 'y'}) }}\n\
            {% for k in ADDON.metadata.namespaceLabels | merge_dicts({'alpha': 'x', 'new': 'y'}) %}{{ k }} {% endfor %}"),
        "ChainMap({'zeta': '1', 'alpha': '2'}, {'alpha': 'x', 'new': 'y'})\nalpha new zeta "
    );
    // A long value pprint would break over lines is refused, not misprinted.
    assert!(err("{{ range(100) | list | pprint }}")
        .message
        .contains("pprint"));
}

#[test]
fn what_jinja2_does_not_have_is_not_there() {
    // minijinja's own additions: Jinja2 has no such filter, test or global.
    for text in [
        "{{ 'x' | bool }}",
        "{{ 'a b' | split }}",
        "{{ 'x' is startingwith 'x' }}",
        "{{ debug() }}",
    ] {
        let error = err(text);
        assert!(error.message.contains("unknown"), "{text}: {error}");
    }
}

#[test]
fn includes_load_files_beside_addon_yaml() {
    let include = "{% include 'part.j2' %}|{% include 'sub/deep.j2' %}|{% from 'macros.yaml.j2' import m %}{{ m(1) }}";
    let more = [
        ("part.j2", "part of {{ ADDON.metadata.id }}\n"),
        ("sub/deep.j2", "deep {{ resource }}"),
        ("macros.yaml.j2", "{% macro m(x) %}[{{ x }}]{% endmacro %}"),
    ];
    assert_eq!(
        render_with(include, &more).unwrap(),
        "part of my-addon|deep extra.yaml.j2|[1]"
    );
    let rendered = render_extra_resource(
        "extra.yaml.j2",
        files(&[[("extra.yaml.j2", include)].as_slice(), &more].concat()),
        &document(),
    )
    .unwrap();
    let loaded: Vec<&str> = rendered
        .loaded
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        loaded,
        ["extra.yaml.j2", "part.j2", "sub/deep.j2", "macros.yaml.j2"]
    );
    // An error inside an include names the include and its line.
    let err = render_with("{% include 'bad.j2' %}", &[("bad.j2", "ok\n{{ nope }}")]).unwrap_err();
    assert_eq!(
        (err.template.as_deref(), err.line),
        (Some("bad.j2"), Some(2)),
        "{err}"
    );
    // Jinja2's split_template_path refuses `..`: nothing outside the folder.
    let err = render_with("{% include '../../secret' %}", &[]).unwrap_err();
    assert!(err.message.contains("not found"), "{err}");
    // mtcli's loader searches its own package first: macros.j2 is its.
    let err = render_with("{% include 'macros.j2' %}", &[]).unwrap_err();
    assert!(
        err.message.contains("managedtenants/data/macros.j2"),
        "{err}"
    );
}

#[test]
fn a_render_is_bounded() {
    // Issue 19: templates without a bound kept the tools busy for ever or
    // took 10 GB. Each of these stops on a bound, naming why.
    let fuel = |text: &str| {
        let error = err(text);
        assert!(error.message.contains("steps"), "{text}: {error}");
    };
    fuel("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
    fuel("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}");
    fuel("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s * 2 %}{% endfor %}");
    fuel("{{ '%0999999999d' % 1 }}");
    fuel("{{ 'x'.zfill(10000000000) }} {{ 'x' | center(10000000000) }}");
    fuel("{{ ('x\n' * 1000) | indent(1000000000) }}");
    // A list nested tens of thousands deep does not overflow the stack.
    fuel("{% set ns = namespace(v=1) %}{% for i in range(1000000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}");
    let error = err("{{ 'x' * 3000000 }}");
    assert!(error.message.contains("MiB"), "{error}");
    let chain = format!("{{{{ 1{} }}}}", "|abs".repeat(3000));
    let error = err(&chain);
    assert!(error.message.contains("operators"), "{error}");
    // An include of itself stops at the recursion limit.
    assert!(render_with("{% include 'extra.yaml.j2' %}", &[]).is_err());
}

#[test]
fn the_rendered_text_is_read_as_mtclis_list_item() {
    // selectorsyncset.yaml.j2: `- {{ render_extra_resource(ADDON, resource) | indent(2) }}`.
    let object =
        extra_resource_object("apiVersion: v1\nkind: ConfigMap\ndata:\n  s: |\n    a\n\n    b\n")
            .unwrap();
    assert_eq!(object.object["data"]["s"], "a\n\nb\n");
    assert!(!object.document_marker);
    // `- ---` is not a document marker inside the List: mtcli fails; we
    // read the document and say so (DF0005).
    let object = extra_resource_object("---\napiVersion: v1\nkind: ConfigMap\n").unwrap();
    assert!(object.document_marker);
    assert_eq!(object.object["kind"], "ConfigMap");
    for text in ["just text", "- a\n- b", "a: [", "", "apiVersion: v1"] {
        assert!(extra_resource_object(text).is_err(), "{text:?}");
    }
}
