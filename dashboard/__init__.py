"""churnlens dashboard: a Streamlit app that only reads published bundles.

Nothing here imports Spark or `training`; everything shown comes from a
bundle's JSON and Parquet through `bundle.reader` and `store`.

    app.py     the router: page config, sign-in gate, bundle picker, navigation
    app_pages/ one script per page, drawing only (customer.py's tabs in customer_*.py); not
               named pages/, which would switch Streamlit to folder-based navigation
    views/     what each page shows, computed without Streamlit: one module per page, a
               subpackage for pages with several parts (customer/, global_explanations/),
               common.py for what every page shares
    charts/    Altair builders, one module per page; data in, chart out
    shell/     sign-in (auth), cached bundle access (data), drawing charts (draw),
               inert text (plain), the model picker every page uses (model_pick)

tests/dashboard/test_layout.py keeps the families apart and every function and file small.
"""
