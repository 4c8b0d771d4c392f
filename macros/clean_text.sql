{{!-- Trims a text column and turns blanks and common placeholders into NULL. Use: {{> clean_text col="email"}} --}}
case when lower(trim({{col}})) in ('', 'null', 'n/a', 'unknown', 'none') then null else trim({{col}}) end
